// Nor through its private constructor.
fn main() {
    let actor = kyso_service::Principal::ca_service().actor().clone();
    let _p = kyso_service::Principal::new(actor, kyso_service::AuthMethod::LocalOperator);
}

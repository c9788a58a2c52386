// Code outside kyso-service's authentication module cannot build a principal from parts.
fn main() {
    let actor = kyso_service::Principal::ca_service().actor().clone();
    let _p = kyso_service::Principal { actor, method: kyso_service::AuthMethod::LocalOperator };
}

//! Roles, grants and the permission table. The service layer asks these questions before
//! every read and mutation, so the CLI and the web share one policy.

use crate::registry::{coded_enum, AgencyId, PersonId, UserId};
use serde::Serialize;

coded_enum!(
    Role {
        ProvincialManager = "provincial_manager" / "Người quản lý thuê bao cấp tỉnh",
        ItStaff = "it_staff" / "Cán bộ Trung tâm CNTT",
        AgencyOfficer = "agency_officer" / "Cán bộ cơ quan quản lý trực tiếp (CQQLTT)",
        RecordsClerk = "records_clerk" / "Văn thư",
        Subscriber = "subscriber" / "Thuê bao",
        Auditor = "auditor" / "Kiểm tra viên (chỉ xem)",
        /// The system actor of the CA's own services; never granted to an account.
        CaService = "ca_service" / "Dịch vụ của tổ chức chứng thực (hệ thống)",
    }
);

coded_enum!(
    /// How a principal proved who it is (shown by `/api/v1/me`, kept in the audit).
    AuthMethod {
        Password = "password" / "mật khẩu",
        PasswordTotp = "password_totp" / "mật khẩu và mã TOTP",
        RecoveryCode = "recovery_code" / "mật khẩu và mã khôi phục",
        Certificate = "certificate" / "chứng thư số của cán bộ",
        Oidc = "oidc" / "đăng nhập một lần (OpenID Connect)",
        OidcMfa = "oidc_mfa" / "đăng nhập một lần, hai yếu tố tại nhà cung cấp",
        OidcTotp = "oidc_totp" / "đăng nhập một lần và mã TOTP",
        ApiToken = "api_token" / "mã truy cập API",
        LocalOperator = "local_operator" / "người vận hành trên máy chủ (CLI)",
        System = "system" / "tác vụ hệ thống",
    }
);

impl AuthMethod {
    /// Whether this way in proves two factors (what the roles that need a second factor ask).
    /// A certificate login is the token and its PIN; an API token carries the factors of the
    /// session that made it only through its own role subset, so it does not count; the local
    /// operator is trusted by the file system.
    pub fn is_two_factor(self) -> bool {
        matches!(
            self,
            AuthMethod::PasswordTotp | AuthMethod::RecoveryCode | AuthMethod::Certificate | AuthMethod::OidcMfa | AuthMethod::OidcTotp
        )
    }
}

/// The login under which the CA's services (periodic CRLs, OCSP refresh, time-stamps served
/// over HTTP) act and appear in the audit log.
pub const CA_SERVICE_LOGIN: &str = "he-thong.dich-vu-ca";

/// A role held over an agency and everything below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Role,
    pub agency_id: AgencyId,
    /// The agency's materialised path, so scope checks need no database.
    pub agency_path: String,
}

/// Who is acting, with the grants loaded for this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user_id: UserId,
    pub login: String,
    pub person_id: Option<PersonId>,
    pub grants: Vec<Grant>,
}

/// The operations the registry guards, besides filing requests and their transitions (see
/// `request::may_file_for` and `request::next_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadRegistry,
    ManageAgencies,
    ManagePersons,
    ManageSubscribers,
    ManageDevices,
    ManageCertificates,
    ManageUsers,
    ViewReports,
    ViewAudit,
    /// Register drafts, read documents and the outgoing register.
    ManageDocuments,
    /// Sign CRLs, refresh OCSP responses and issue time-stamps with the CA's keys.
    OperateCaServices,
    /// Keep the deployment's trust store.
    ManageTrust,
    /// Time-stamp the head of the audit log (a checkpoint).
    AnchorAudit,
    /// Take a backup of the whole deployment.
    Backup,
    /// Run the built-in CA with its keys: create it, issue and revoke with it, sign the
    /// offline root's CRL. The province IT Centre's alone: the manager, who files and checks
    /// requests, does not also issue them.
    AdministerCa,
}

impl Permission {
    /// The roles that hold this permission within their scope.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::ReadRegistry => &[ProvincialManager, ItStaff, AgencyOfficer, RecordsClerk, Auditor],
            Permission::ManageAgencies => &[ProvincialManager, ItStaff],
            Permission::ManagePersons | Permission::ManageSubscribers => &[ProvincialManager, ItStaff, AgencyOfficer],
            Permission::ManageDevices => &[ProvincialManager, ItStaff, AgencyOfficer],
            Permission::ManageCertificates => &[ProvincialManager, ItStaff],
            Permission::ManageUsers => &[ItStaff],
            Permission::ViewReports => &[ProvincialManager, ItStaff, AgencyOfficer, Auditor],
            Permission::ViewAudit => &[ProvincialManager, ItStaff, Auditor],
            Permission::ManageDocuments => &[RecordsClerk, AgencyOfficer, Subscriber, ItStaff],
            Permission::OperateCaServices => &[ItStaff, CaService],
            Permission::ManageTrust => &[ItStaff],
            Permission::AnchorAudit => &[ItStaff, Auditor, CaService],
            Permission::Backup => &[ItStaff],
            Permission::AdministerCa => &[ItStaff],
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Permission::ReadRegistry => "xem sổ đăng ký",
            Permission::ManageAgencies => "quản lý danh mục cơ quan",
            Permission::ManagePersons => "quản lý cán bộ",
            Permission::ManageSubscribers => "quản lý thuê bao",
            Permission::ManageDevices => "quản lý thiết bị lưu khóa",
            Permission::ManageCertificates => "quản lý hồ sơ chứng thư số",
            Permission::ManageUsers => "quản lý tài khoản và phân quyền",
            Permission::ViewReports => "xem báo cáo",
            Permission::ViewAudit => "xem nhật ký kiểm tra",
            Permission::ManageDocuments => "quản lý văn bản điện tử",
            Permission::OperateCaServices => "vận hành CRL, OCSP và dấu thời gian của tổ chức chứng thực",
            Permission::ManageTrust => "quản lý kho chứng thư tin cậy",
            Permission::AnchorAudit => "neo nhật ký kiểm tra bằng dấu thời gian",
            Permission::Backup => "sao lưu toàn bộ hệ thống",
            Permission::AdministerCa => "vận hành tổ chức chứng thực tích hợp (khởi tạo, cấp và thu hồi chứng thư số bằng khóa của CA)",
        }
    }
}

impl Actor {
    /// The CA's services as an actor: only [`Permission::OperateCaServices`], over the whole
    /// deployment, and no account behind it.
    pub fn ca_service() -> Actor {
        Actor {
            user_id: UserId(0),
            login: CA_SERVICE_LOGIN.to_string(),
            person_id: None,
            grants: vec![Grant { role: Role::CaService, agency_id: AgencyId(0), agency_path: "/".into() }],
        }
    }
    /// True when the actor holds `role` over the agency whose path is `target_path`.
    pub fn has_role_over(&self, role: Role, target_path: &str) -> bool {
        self.grants.iter().any(|g| g.role == role && target_path.starts_with(&g.agency_path))
    }
    /// True when the actor holds `role` at exactly this agency (used for the CQQLTT, who
    /// answers for its own subscribers' data, not for other legal entities below it).
    pub fn has_role_at(&self, role: Role, agency: AgencyId) -> bool {
        self.grants.iter().any(|g| g.role == role && g.agency_id == agency)
    }
    pub fn may(&self, p: Permission, target_path: &str) -> bool {
        p.roles().iter().any(|r| self.has_role_over(*r, target_path))
    }
    /// The narrowest paths the actor may see for `p` (for filtering lists).
    pub fn scopes(&self, p: Permission) -> Vec<&str> {
        self.grants.iter().filter(|g| p.roles().contains(&g.role)).map(|g| g.agency_path.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(grants: &[(Role, i64, &str)]) -> Actor {
        Actor {
            user_id: UserId(1),
            login: "x".into(),
            person_id: None,
            grants: grants.iter().map(|(r, a, p)| Grant { role: *r, agency_id: AgencyId(*a), agency_path: p.to_string() }).collect(),
        }
    }

    #[test]
    fn scope_follows_the_tree() {
        let a = actor(&[(Role::AgencyOfficer, 5, "/1/5/")]);
        let cases = [
            (Permission::ManagePersons, "/1/5/", true),
            (Permission::ManagePersons, "/1/5/23/", true),
            (Permission::ManagePersons, "/1/6/", false),
            (Permission::ManagePersons, "/1/", false),
            (Permission::ManageAgencies, "/1/5/", false),
            (Permission::ViewAudit, "/1/5/", false),
        ];
        for (p, path, ok) in cases {
            assert_eq!(a.may(p, path), ok, "{p:?} {path}");
        }
        // "/1/5/" must not match "/1/50/".
        assert!(!a.may(Permission::ManagePersons, "/1/50/"));
        assert!(a.has_role_at(Role::AgencyOfficer, AgencyId(5)));
        assert!(!a.has_role_at(Role::AgencyOfficer, AgencyId(23)));
    }
}

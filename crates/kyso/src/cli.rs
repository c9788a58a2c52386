//! The command line. `--data`, `--db`, `--as` and `--json` may be given anywhere.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kyso",
    version,
    about = "Quản lý chứng thư số, thiết bị lưu khóa và yêu cầu chứng thực chuyên dùng cho cơ quan nhà nước.",
    after_help = "Ví dụ:\n  kyso demo --data ./bn\n  kyso report --data ./bn --period 2026-H1\n  kyso request list --data ./bn --state submitted\n  kyso audit verify --data ./bn\n\n\
                  Biến môi trường: KYSO_DATA, KYSO_DB, KYSO_USER đặt giá trị cho các tùy chọn chung; KYSO_NOW cố định thời điểm hiện tại (RFC 3339)."
)]
pub struct Cli {
    /// Thư mục dữ liệu của hệ thống (tệp SQLite, cấu hình, khóa của token).
    #[arg(long, global = true, env = "KYSO_DATA", default_value = "kyso-data")]
    pub data: PathBuf,
    /// URL PostgreSQL (postgres://…) dùng thay cho tệp SQLite.
    #[arg(long, global = true, env = "KYSO_DB")]
    pub db: Option<String>,
    /// Tên đăng nhập của tài khoản thực hiện; mọi bước kiểm tra quyền và sự kiện nhật ký đều ghi theo tài khoản này.
    #[arg(long = "as", global = true, env = "KYSO_USER", default_value = "admin")]
    pub actor: String,
    /// Xuất kết quả dạng JSON (cho máy đọc).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Khởi tạo hệ thống: hồ sơ tỉnh, cơ quan gốc và tài khoản cán bộ Trung tâm CNTT đầu tiên.
    Init(InitArgs),
    /// Tạo dữ liệu mẫu của một tỉnh (hồ sơ Bắc Ninh) với lịch sử một năm.
    Demo,
    /// Hồ sơ tỉnh: ai quản lý thuê bao, trình tự xử lý yêu cầu, báo cáo, quy định bổ sung.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Cơ quan, đơn vị (cây tổ chức của tỉnh).
    #[command(subcommand)]
    Agency(AgencyCmd),
    /// Cán bộ, công chức, viên chức.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Tài khoản và vai trò.
    #[command(subcommand)]
    User(UserCmd),
    /// Đề xuất xử lý chứng thư số phát sinh từ biến động của cán bộ, công chức.
    #[command(subcommand)]
    Proposal(ProposalCmd),
    /// Thuê bao: cá nhân; cơ quan, tổ chức; thiết bị, dịch vụ, phần mềm.
    #[command(subcommand)]
    Subscriber(SubscriberCmd),
    /// Thiết bị lưu khóa bí mật (USB token, SIM PKI, thẻ thông minh, HSM).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Hồ sơ chứng thư số.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Yêu cầu chứng thực và các bước xử lý.
    #[command(subcommand)]
    Request(RequestCmd),
    /// Số liệu báo cáo theo kỳ (ví dụ 2026-H1 hoặc 2026) dạng bảng, JSON hoặc CSV.
    Report(ReportArgs),
    /// Nhật ký kiểm tra, phát hiện được mọi sửa đổi trái phép.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Token lưu khóa: token phần mềm trong DATA/tokens, hoặc token PKCS#11 (--pkcs11 MODULE).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Tổ chức chứng thực (CA) tích hợp sẵn (CA gốc, CA cấp phát, CRL, OCSP, TSA).
    #[command(subcommand)]
    Ca(CaCmd),
    /// Dấu thời gian theo RFC 3161.
    #[command(subcommand)]
    Ts(TsCmd),
    /// Kho chứng thư tin cậy của hệ thống: các CA mà chứng thư số, CRL và văn bản ký số phải dẫn tới.
    #[command(subcommand)]
    Trust(TrustCmd),
    /// Sao lưu toàn bộ hệ thống (cơ sở dữ liệu, cấu hình, token phần mềm, văn bản) ra một tệp mã hóa bằng mật khẩu (KYSO_BACKUP_PASSPHRASE hoặc hỏi), ngay cả khi máy chủ đang chạy.
    Backup {
        /// Tệp sao lưu ghi ra.
        #[arg(long)]
        out: PathBuf,
    },
    /// Khôi phục một bản sao lưu vào thư mục dữ liệu trống (--data) và, với PostgreSQL, một cơ sở dữ liệu trống (--db).
    Restore {
        /// Tệp sao lưu.
        file: PathBuf,
    },
    /// Cung cấp CRL, OCSP và dịch vụ cấp dấu thời gian của CA qua HTTP.
    Serve(ServeArgs),
    /// Ký số tệp PDF (PAdES) hoặc, với --detached, mọi loại tệp (CAdES), bằng khóa trên token cục bộ.
    Sign(SignArgs),
    /// Kiểm tra chữ ký số trên tệp PDF, hoặc chữ ký CMS tách rời (FILE.p7s đặt cạnh tệp nội dung).
    /// Mã thoát 0 chỉ khi TOTAL-PASSED, 1 khi TOTAL-FAILED, 2 khi INDETERMINATE.
    Verify(VerifyArgs),
    /// Văn bản: dự thảo, ký số theo trình tự quy định, sổ văn bản đi.
    #[command(subcommand)]
    Doc(DocCmd),
    /// Phần mềm ký số cục bộ (agent) trên máy tính của cán bộ (giữ token, ký cho máy chủ đã ghép nối).
    #[command(subcommand)]
    Agent(AgentCmd),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Tệp cần kiểm tra (PDF đã ký, hoặc chữ ký tách rời .p7s).
    pub file: PathBuf,
    /// Chứng thư số gốc tin cậy hoặc danh sách tin cậy (PEM/DER; mặc định: CA gốc tích hợp của hệ thống này).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Đánh giá tại thời điểm này (RFC 3339) thay vì hiện tại.
    #[arg(long)]
    pub at: Option<String>,
    /// Với chữ ký tách rời: tệp đã được ký (mặc định: FILE bỏ đuôi .p7s).
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// Các CRL bổ sung dùng để kiểm tra tình trạng thu hồi.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Các chứng thư số CA trung gian bổ sung.
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// Không truy vấn máy chủ OCSP và không tải CRL qua mạng.
    #[arg(long)]
    pub offline: bool,
    /// Chấp nhận chứng thư số khi không tìm được CRL hay phản hồi OCSP nào về nó ("soft-fail",
    /// như Acrobat và pyHanko), kèm ghi chú; mặc định: INDETERMINATE / TRY_LATER.
    #[arg(long)]
    pub soft_fail: bool,
    /// Ghi thêm báo cáo kiểm tra ra tệp HTML.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Ghi thêm báo cáo kiểm tra ra tệp PDF.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum DocCmd {
    /// Đăng ký bản dự thảo PDF của một cơ quan (văn bản ban hành, bản số hóa, bản sao, văn bản đến số hóa, phụ lục, văn bản nội bộ).
    Add(DocAddArgs),
    /// Các văn bản tài khoản được xem, mới nhất trước.
    List {
        /// Chỉ văn bản của cơ quan này (mã cơ quan).
        #[arg(long)]
        agency: Option<String>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Xem một văn bản cùng các chữ ký trên văn bản.
    Show {
        /// Mã số văn bản.
        id: i64,
    },
    /// Ghi ra tệp hiện hành của văn bản.
    Export {
        /// Mã số văn bản.
        id: i64,
        /// Tệp ghi ra.
        #[arg(long)]
        out: PathBuf,
    },
    /// Ký: ký cá nhân (--step approve|check_content|check_format) hoặc ký bằng chữ ký số của cơ quan (--seal, do văn thư thực hiện).
    Sign(DocSignArgs),
    /// Sổ văn bản đi của một cơ quan theo năm; --copies để xem sổ bản sao.
    Register {
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
        /// Năm.
        #[arg(long)]
        year: i32,
        /// Sổ bản sao văn bản.
        #[arg(long)]
        copies: bool,
    },
    /// Tiếp nhận tệp PDF đã ký: kiểm tra chữ ký; nếu hợp lệ thì vào sổ văn bản đến; nếu không
    /// thì từ chối, thông báo cho nơi gửi và xóa tệp (mã băm và báo cáo kiểm tra được giữ lại).
    Receive {
        /// Tệp PDF đã ký nhận được.
        file: PathBuf,
        /// Mã cơ quan tiếp nhận.
        #[arg(long)]
        agency: String,
        /// Cơ quan gửi.
        #[arg(long)]
        sender: String,
        /// Nguồn tiếp nhận: truc-lien-thong (Trục liên thông văn bản), email (Thư điện tử), cong-thong-tin (Cổng thông tin điện tử), khac (Khác).
        #[arg(long, default_value = "truc-lien-thong")]
        source: String,
        /// Trích yếu, như ghi trên văn bản.
        #[arg(long)]
        title: String,
        /// Số và ký hiệu của văn bản (ví dụ "12/QĐ-UBND"); bỏ trống thì đọc từ phần đầu văn bản.
        #[arg(long)]
        number: Option<String>,
        /// Ngày của văn bản (YYYY-MM-DD hoặc DD/MM/YYYY); bỏ trống thì đọc từ phần đầu văn bản.
        #[arg(long)]
        date: Option<String>,
        /// Vẫn vào sổ dù cơ quan của người ký không phải cơ quan gửi đã khai (cảnh báo vẫn được giữ).
        #[arg(long)]
        accept_sender_mismatch: bool,
        /// Chứng thư số gốc tin cậy bổ sung (danh sách tin cậy).
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// Không truy vấn máy chủ OCSP và không tải CRL qua mạng.
        #[arg(long)]
        offline: bool,
        /// Giữ lại tệp bị từ chối thay vì xóa khỏi vùng làm việc.
        #[arg(long)]
        keep: bool,
    },
    /// Sổ văn bản đến của một cơ quan theo năm.
    Incoming {
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
        /// Năm.
        #[arg(long)]
        year: i32,
    },
    /// Thông báo cho nơi gửi (về văn bản bị từ chối) đang chờ chuyển; --all để xem tất cả.
    Notifications {
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
        /// Xem cả thông báo đã chuyển.
        #[arg(long)]
        all: bool,
    },
    /// In một thông báo gửi nơi gửi ra tệp PDF theo thể thức Nghị định 30/2020 (để in, hoặc ký số và gửi đi).
    Notice {
        /// Số của thông báo (cột đầu của `kyso doc notifications`).
        id: i64,
        /// Tệp PDF ghi ra.
        #[arg(long)]
        out: PathBuf,
    },
    /// Lưu ảnh chữ ký tay của cán bộ (PNG, nét màu xanh trên nền trong suốt).
    SignatureImage {
        /// Số định danh cá nhân của cán bộ.
        citizen_id: String,
        /// Tệp ảnh PNG.
        png: PathBuf,
    },
    /// Lưu ảnh con dấu của cơ quan (PNG, màu đỏ trên nền trong suốt) và đường kính thực của dấu.
    SealImage {
        /// Mã cơ quan.
        agency: String,
        /// Tệp ảnh PNG.
        png: PathBuf,
        /// Đường kính thực của con dấu (mm).
        #[arg(long, default_value_t = 36.0)]
        mm: f64,
    },
}

#[derive(Args, Debug)]
pub struct DocAddArgs {
    /// Tệp PDF.
    pub file: PathBuf,
    /// Mã cơ quan.
    #[arg(long)]
    pub agency: String,
    /// Loại văn bản: issued (Văn bản điện tử ban hành), scanned (Văn bản giấy đã ban hành, số hóa để gửi), copy (Bản sao điện tử từ văn bản giấy), digitised (Văn bản đến được số hóa), attachment (Phụ lục, văn bản kèm theo), internal (Văn bản ký cá nhân, không ban hành).
    #[arg(long)]
    pub kind: String,
    /// Trích yếu.
    #[arg(long)]
    pub title: String,
    /// Ký hiệu đứng sau số văn bản, với văn bản ban hành (ví dụ QĐ-SNV).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Số định danh cá nhân của người có thẩm quyền ký, với văn bản ban hành.
    #[arg(long)]
    pub signer: Option<String>,
    /// Mã số văn bản chính, với phụ lục.
    #[arg(long)]
    pub parent: Option<i64>,
}

#[derive(Args, Debug)]
pub struct DocSignArgs {
    /// Mã số văn bản.
    pub id: i64,
    /// Chữ ký cá nhân: approve (Ký ban hành, người có thẩm quyền), check_content (Kiểm tra nội dung) hoặc check_format (Kiểm tra thể thức).
    #[arg(long, conflicts_with = "seal")]
    pub step: Option<String>,
    /// Chữ ký số của cơ quan, do văn thư của cơ quan thực hiện.
    #[arg(long)]
    pub seal: bool,
    /// Nhãn token (khi ký cục bộ); không cần khi dùng --agent.
    #[arg(long)]
    pub label: Option<String>,
    /// Đường dẫn mô-đun PKCS#11 (mặc định: token phần mềm).
    #[arg(long)]
    pub pkcs11: Option<PathBuf>,
    /// Ký qua phần mềm ký cục bộ (agent) đã ghép nối (ví dụ http://127.0.0.1:8481) thay vì token cục bộ.
    #[arg(long)]
    pub agent: Option<String>,
    /// Chứng thư số dùng để ký (mặc định: chứng thư số mới nhất trên token).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// Đặt chữ ký cá nhân bên dưới dòng chữ này (mặc định: chức vụ của người ký, viết hoa).
    #[arg(long)]
    pub anchor: Option<String>,
    /// Hoặc đặt tại PAGE,X1,Y1,X2,Y2 (đơn vị point, tính từ góc dưới bên trái).
    #[arg(long)]
    pub rect: Option<String>,
    /// Chữ ký không hiển thị trên trang.
    #[arg(long)]
    pub invisible: bool,
    /// Với bản sao: "SAO Y", "SAO LỤC" hoặc "TRÍCH SAO".
    #[arg(long)]
    pub copy_type: Option<String>,
    /// Với bản gốc giấy được số hóa: số và ký hiệu như trên bản giấy (ví dụ 12/QĐ-UBND).
    #[arg(long)]
    pub paper_number: Option<String>,
    /// Nơi nhận, để ghi vào sổ.
    #[arg(long)]
    pub recipients: Option<String>,
    /// Mức chữ ký: b (B-B) hoặc t (B-T).
    #[arg(long, default_value = "b")]
    pub level: String,
    /// Máy chủ cấp dấu thời gian (TSA) cho mức B-T: một URL http://, hoặc "builtin" (TSA tích hợp).
    #[arg(long)]
    pub tsa: Option<String>,
    /// Lý do ký (ghi vào chữ ký).
    #[arg(long)]
    pub reason: Option<String>,
    /// Nơi ký (ghi vào chữ ký).
    #[arg(long)]
    pub location: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Chạy agent trên 127.0.0.1: agent in ra mã ghép nối, sau đó chỉ ký cho các máy chủ đã ghép nối,
    /// hiển thị từng văn bản và người ký, và hỏi mã PIN tại cửa sổ dòng lệnh này (hoặc qua --pinentry)
    /// cho từng chữ ký; agent không bao giờ lấy mã PIN từ biến môi trường.
    Serve {
        #[command(flatten)]
        token: TokenSel,
        /// Địa chỉ lắng nghe.
        #[arg(long, default_value = "127.0.0.1:8481")]
        listen: String,
        /// Chương trình pinentry (giao thức Assuan của GnuPG) để hỏi mã PIN trong cửa sổ riêng.
        #[arg(long)]
        pinentry: Option<PathBuf>,
        /// Mở một phiên ký ngay khi chạy: hỏi mã PIN một lần, rồi ký tối đa N chữ ký trong M phút
        /// mà không hỏi lại, viết N,M (ví dụ 10,30; tối đa 100 chữ ký, 480 phút).
        #[arg(long)]
        session: Option<String>,
    },
    /// Ghép nối hệ thống này với một agent, dùng mã do agent hiển thị.
    Pair {
        /// Địa chỉ của agent (ví dụ http://127.0.0.1:8481).
        #[arg(long)]
        agent: String,
        /// Mã ghép nối.
        #[arg(long)]
        code: String,
    },
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// Tệp cần ký.
    pub file: PathBuf,
    /// Tệp kết quả (mặc định: FILE-signed.pdf, hoặc FILE.p7s với --detached). Tệp đầu vào không bao giờ bị thay đổi.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub token: TokenSel,
    /// Nhãn của khóa trên token (mặc định: khóa khớp với chứng thư số).
    #[arg(long)]
    pub key: Option<String>,
    /// Chứng thư số của người ký (PEM hoặc DER).
    #[arg(long)]
    pub cert: PathBuf,
    /// Các chứng thư số CA trung gian đưa kèm.
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// Mức chữ ký: b (B-B), t (B-T, có dấu thời gian chữ ký), lt (B-T kèm chuỗi chứng thư và CRL
    /// trong DSS) hoặc lta (B-LT kèm dấu thời gian tài liệu).
    #[arg(long, default_value = "b")]
    pub level: String,
    /// Máy chủ cấp dấu thời gian (TSA) cho mức B-T trở lên: một URL http://, hoặc "builtin" (TSA tích hợp; KYSO_CA_PIN).
    #[arg(long)]
    pub tsa: Option<String>,
    /// Chữ ký CMS tách rời (CAdES) cho mọi loại tệp, thay vì chữ ký trong PDF.
    #[arg(long)]
    pub detached: bool,
    /// Trang đặt trường chữ ký (đánh số từ 1).
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    /// Tên trường chữ ký.
    #[arg(long, default_value = "Chữ ký 1")]
    pub field: String,
    /// Lý do ký (ghi vào chữ ký).
    #[arg(long)]
    pub reason: Option<String>,
    /// Nơi ký (ghi vào chữ ký).
    #[arg(long)]
    pub location: Option<String>,
}

/// Chọn token: token phần mềm theo nhãn, hoặc token PKCS#11 theo nhãn trong một mô-đun.
#[derive(Args, Debug, Clone)]
pub struct TokenSel {
    /// Nhãn token.
    #[arg(long)]
    pub label: String,
    /// Đường dẫn mô-đun PKCS#11 (trình điều khiển USB token của nhà cung cấp, HSM, SoftHSM2); mặc định: token phần mềm.
    #[arg(long)]
    pub pkcs11: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Tạo token phần mềm (hoặc khởi tạo một khe PKCS#11). Mã PIN: KYSO_PIN và KYSO_SO_PIN, hoặc nhập khi được hỏi.
    Create(TokenSel),
    /// Xem trạng thái token: số lần nhập mã PIN còn lại, có bị khóa hay không.
    Info(TokenSel),
    /// Sinh cặp khóa trên token (không thể trích xuất khóa khi dùng PKCS#11).
    Keygen {
        #[command(flatten)]
        token: TokenSel,
        /// Nhãn của khóa.
        #[arg(long)]
        key: String,
        /// Thuật toán: ec-p256, rsa-2048, rsa-3072.
        #[arg(long, default_value = "ec-p256")]
        alg: String,
    },
    /// Tạo CSR (đề nghị cấp chứng thư số) bằng khóa trên token, dùng cho yêu cầu chứng thực.
    Csr {
        #[command(flatten)]
        token: TokenSel,
        /// Nhãn của khóa.
        #[arg(long)]
        key: String,
        /// Chủ thể, ví dụ "CN=Nguyễn Văn An,C=VN".
        #[arg(long)]
        subject: String,
        /// Ghi CSR ra tệp này (PEM); mặc định: đầu ra chuẩn.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Liệt kê các khóa trên token.
    Keys(TokenSel),
    /// Đổi mã PIN người dùng (KYSO_PIN, sau đó KYSO_NEW_PIN).
    ChangePin(TokenSel),
    /// Mở khóa token bị khóa bằng mã PIN quản trị (SO PIN) và đặt mã PIN người dùng mới (KYSO_SO_PIN, KYSO_NEW_PIN).
    Unlock(TokenSel),
}

#[derive(Subcommand, Debug)]
pub enum CaCmd {
    /// Khởi tạo CA: khóa trên token của CA, CA gốc và CA cấp phát, chứng thư số OCSP và TSA, CRL đầu tiên.
    /// Mã PIN: KYSO_CA_PIN, và KYSO_CA_SO_PIN khi token phần mềm của CA được tạo tại đây.
    Init {
        /// Thuật toán: ec-p256, rsa-2048, rsa-3072.
        #[arg(long, default_value = "ec-p256")]
        algorithm: String,
        /// Địa chỉ gốc của các URL ghi vào chứng thư số (nơi `kyso serve` phục vụ).
        #[arg(long, default_value = "http://127.0.0.1:8480")]
        base_url: String,
        /// Đặt khóa của CA gốc trên thiết bị riêng (nhãn), cất ngoại tuyến sau khi khởi tạo; mã PIN KYSO_ROOT_PIN
        /// (và KYSO_ROOT_SO_PIN khi token phần mềm được tạo tại đây).
        #[arg(long)]
        root_token: Option<String>,
        /// Thư viện PKCS#11 của thiết bị CA gốc (mặc định: token phần mềm).
        #[arg(long)]
        root_pkcs11: Option<PathBuf>,
    },
    /// Ký CRL mới của CA gốc bằng thiết bị CA gốc đem ra cho việc này (mỗi năm một lần, trước khi CRL cũ hết hạn).
    RootCrl {
        /// Nhãn thiết bị của CA gốc.
        #[arg(long)]
        root_token: String,
        /// Thư viện PKCS#11 của thiết bị (mặc định: token phần mềm).
        #[arg(long)]
        root_pkcs11: Option<PathBuf>,
    },
    /// Xem các chứng thư số và cấu hình của CA.
    Show,
    /// Cấp chứng thư số cho một yêu cầu đã gửi tới CA, từ CSR của thuê bao.
    Issue {
        /// Mã số yêu cầu.
        request: i64,
        /// Tệp CSR của thuê bao.
        #[arg(long)]
        csr: PathBuf,
        /// Thiết bị lưu khóa chứa khóa bí mật (số sê-ri).
        #[arg(long)]
        device: Option<String>,
        /// Ghi chứng thư số ra tệp này (PEM); mặc định: đầu ra chuẩn.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Thực hiện một yêu cầu thu hồi.
    Revoke {
        /// Mã số yêu cầu.
        request: i64,
    },
    /// Thực hiện yêu cầu khôi phục thiết bị: mở khóa token của thiết bị (KYSO_SO_PIN, KYSO_NEW_PIN).
    Restore {
        /// Mã số yêu cầu.
        request: i64,
    },
    /// Phát hành CRL (đầy đủ, hoặc CRL bổ sung với --delta).
    Crl {
        /// Phát hành CRL bổ sung (delta CRL).
        #[arg(long)]
        delta: bool,
        /// Ghi CRL ra tệp này.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Tạo lại toàn bộ phản hồi OCSP.
    OcspRefresh,
    /// Ghi CA gốc, CA cấp phát, mọi chứng thư số đã cấp và CRL hiện hành ra các tệp PEM.
    Export {
        /// Thư mục ghi ra.
        #[arg(long)]
        out: PathBuf,
    },
    /// Xử lý một lô yêu cầu đã gửi CA: CA tích hợp cấp/thu hồi ngay; với --external, ghi bộ hồ sơ
    /// cho CA bên ngoài (danh sách yêu cầu và các CSR) vào --out.
    Submit {
        /// Mã số lô.
        #[arg(long)]
        batch: i64,
        /// Gửi CA bên ngoài.
        #[arg(long)]
        external: bool,
        /// Thư mục ghi bộ hồ sơ (bắt buộc khi có --external).
        #[arg(long, required_if_eq("external", "true"))]
        out: Option<PathBuf>,
    },
    /// CA bên ngoài: nhập các chứng thư số đã cấp (PEM, DER, PKCS#7) cùng chứng thư số của CA, và các CRL của CA.
    Import {
        /// Các tệp cần nhập.
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrustCmd {
    /// Thêm chứng thư của một CA (PEM hoặc DER) vào kho tin cậy (cán bộ Trung tâm CNTT).
    Add {
        /// Tệp chứng thư CA.
        file: PathBuf,
        /// Nguồn của chứng thư (ví dụ "Root CA chuyên dùng Chính phủ G2, tải từ ca.gov.vn ngày …").
        #[arg(long)]
        note: String,
    },
    /// Liệt kê kho tin cậy (số 0 là chứng thư gốc của CA tích hợp).
    List,
    /// Gỡ một chứng thư khỏi kho tin cậy.
    Remove {
        /// Số của chứng thư trong kho (cột đầu của `kyso trust list`).
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum TsCmd {
    /// Gắn dấu thời gian cho một tệp: với --url thì lấy từ một TSA qua HTTP, nếu không thì từ TSA tích hợp (KYSO_CA_PIN).
    Stamp {
        /// Tệp cần gắn dấu thời gian.
        file: PathBuf,
        /// URL của TSA.
        #[arg(long)]
        url: Option<String>,
        /// Ghi phản hồi RFC 3161 ra tệp này; mặc định: FILE.tsr.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Địa chỉ lắng nghe.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: String,
    /// Số giây giữa các lần làm mới chỉ mục OCSP và lịch phát hành CRL.
    #[arg(long, default_value_t = 30)]
    pub refresh_secs: u64,
    /// Chạy mà không dùng token của CA (không cấp dấu thời gian, không tạo phản hồi OCSP theo yêu cầu, không phát hành CRL mới).
    #[arg(long)]
    pub no_ca_token: bool,
    /// Địa chỉ IP của reverse proxy được tin cậy (lặp lại được): chỉ từ đó mới tin X-Forwarded-For và X-Forwarded-Proto (proxy báo https thì cookie phiên có cờ Secure).
    #[arg(long = "trusted-proxy")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Ghi nhật ký vận hành vào tệp này thay vì stderr (không bao giờ ghi mật khẩu, mã PIN, TOTP, mã truy cập hay mã phiên).
    #[arg(long)]
    pub log_file: Option<std::path::PathBuf>,
    /// Địa chỉ công khai của máy chủ như trình duyệt thấy, ví dụ https://kyso.bacninh.gov.vn (lặp lại được): đăng nhập bằng chứng thư số và đăng nhập một lần chỉ dùng các địa chỉ này. Mặc định, khi nghe trên 127.0.0.1: http(s)://127.0.0.1:CỔNG và http(s)://localhost:CỔNG.
    #[arg(long = "public-origin")]
    pub public_origins: Vec<String>,
    /// Đăng nhập một lần (OpenID Connect): địa chỉ nhà cung cấp định danh của tỉnh (issuer). Bí mật của ứng dụng lấy từ biến môi trường KYSO_OIDC_CLIENT_SECRET.
    #[arg(long, requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// Mã ứng dụng (client_id) của kyso tại nhà cung cấp định danh.
    #[arg(long, requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// Tên trường (claim) chứa số định danh cá nhân trong ID token.
    #[arg(long, default_value = "citizen_id")]
    pub oidc_citizen_id_claim: String,
    /// Giá trị acr cho biết nhà cung cấp đã xác thực hai yếu tố (lặp lại được); ngoài ra các giá trị amr của RFC 8176 như otp, hwk, mfa được chấp nhận.
    #[arg(long = "oidc-mfa-acr")]
    pub oidc_mfa_acr: Vec<String>,
    /// Tệp PEM các chứng thư CA tin cậy khi kết nối tới nhà cung cấp định danh (mặc định: kho của hệ điều hành).
    #[arg(long)]
    pub oidc_ca_file: Option<std::path::PathBuf>,
    /// Tự phục vụ HTTPS (rustls) với chuỗi chứng thư máy chủ này (PEM); cần cả --tls-key. Khi có TLS, máy chủ hỏi chứng thư số của người dùng để đăng nhập bằng chứng thư số (không bắt buộc).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Khóa riêng của chứng thư TLS (PEM, PKCS#8, PKCS#1 hoặc SEC1).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Mã hồ sơ tỉnh (xem `kyso profile list`).
    #[arg(long)]
    pub profile: String,
    /// Mã cơ quan gốc, ví dụ UBND-BN.
    #[arg(long)]
    pub code: String,
    /// Tên cơ quan gốc, ví dụ "Ủy ban nhân dân tỉnh Bắc Ninh".
    #[arg(long)]
    pub name: String,
    /// Mã số thuế của cơ quan gốc.
    #[arg(long)]
    pub tax_code: String,
    /// Địa chỉ của cơ quan gốc.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Địa chỉ thư điện tử của cơ quan gốc.
    #[arg(long)]
    pub email: Option<String>,
    /// Tên đăng nhập của tài khoản cán bộ Trung tâm CNTT đầu tiên.
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// Hệ thống đào tạo, thử nghiệm (vĩnh viễn): CA tích hợp mang tên thử nghiệm, được cố định thời điểm bằng KYSO_NOW; hệ thống thật không tin cậy CA của nó.
    #[arg(long)]
    pub training: bool,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// Liệt kê các hồ sơ tỉnh có sẵn.
    List,
    /// Xem một hồ sơ tỉnh (mặc định: hồ sơ của hệ thống này).
    Show {
        /// Mã hồ sơ tỉnh.
        key: Option<String>,
    },
    /// Chuyển hệ thống sang hồ sơ tỉnh khác từ một ngày đã có hiệu lực (ví dụ Bắc Giang sáp nhập
    /// vào Bắc Ninh từ 01/7/2025); yêu cầu, báo cáo và thời hạn trước ngày đó giữ hồ sơ cũ.
    Change {
        /// Mã hồ sơ tỉnh mới.
        key: String,
        /// Ngày có hiệu lực (YYYY-MM-DD hoặc DD/MM/YYYY).
        #[arg(long)]
        on: String,
        /// Căn cứ: số và ngày của nghị quyết, quyết định.
        #[arg(long)]
        basis: String,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AgencyCmd {
    /// Thêm một cơ quan, đơn vị trực thuộc một cơ quan cấp trên.
    Add(AgencyAddArgs),
    /// Liệt kê các cơ quan, đơn vị (có thể chỉ những đơn vị trực thuộc một cơ quan).
    List {
        /// Chỉ các đơn vị trực thuộc cơ quan này (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
    },
    /// Xem một cơ quan, đơn vị.
    Show {
        /// Mã cơ quan.
        code: String,
    },
    /// Kết thúc thời gian hiệu lực của một cơ quan (giải thể hoặc sáp nhập).
    Close {
        /// Mã cơ quan.
        code: String,
        /// Ngày cuối cùng còn hiệu lực (YYYY-MM-DD).
        #[arg(long)]
        on: String,
    },
    /// Nhập danh sách cơ quan từ tệp CSV (các cột: code,name,parent_code,legal_entity,tax_code,budget_code,email,address,valid_from).
    Import {
        /// Tệp CSV.
        file: PathBuf,
    },
    /// Chỉ định Văn phòng cấp tỉnh làm CQQLTT của các cơ quan cấp tỉnh và người đứng đầu các cơ quan đó, nếu hồ sơ tỉnh quy định (Hà Tĩnh, khoản 1 Điều 5).
    ProvincialOffice {
        /// Mã cơ quan của Văn phòng.
        code: String,
    },
}

#[derive(Args, Debug)]
pub struct AgencyAddArgs {
    /// Mã cơ quan.
    #[arg(long)]
    pub code: String,
    /// Tên cơ quan.
    #[arg(long)]
    pub name: String,
    /// Mã cơ quan cấp trên.
    #[arg(long)]
    pub parent: String,
    /// Có con dấu riêng (có thể là cơ quan quản lý trực tiếp).
    #[arg(long)]
    pub legal_entity: bool,
    /// Mã số thuế.
    #[arg(long)]
    pub tax_code: Option<String>,
    /// Mã số đơn vị có quan hệ với ngân sách.
    #[arg(long)]
    pub budget_code: Option<String>,
    /// Địa chỉ thư điện tử.
    #[arg(long)]
    pub email: Option<String>,
    /// Địa chỉ.
    #[arg(long, default_value = "")]
    pub address: String,
    /// Ngày bắt đầu có hiệu lực.
    #[arg(long)]
    pub valid_from: Option<String>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum PersonCmd {
    /// Thêm một cán bộ, công chức, viên chức.
    Add(PersonAddArgs),
    /// Liệt kê cán bộ, công chức, viên chức.
    List {
        /// Chỉ trong cơ quan này và các đơn vị trực thuộc (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Xem một cán bộ theo số định danh cá nhân.
    Show {
        /// Số định danh cá nhân.
        citizen_id: String,
    },
    /// Nhập danh sách cán bộ từ tệp CSV (các cột: full_name,citizen_id,date_of_birth,gender,position,position_kind,title,agency_code,email,phone).
    Import {
        /// Tệp CSV.
        file: PathBuf,
    },
    /// Sửa họ tên, chức vụ, chức danh, thư điện tử hoặc số điện thoại của cán bộ.
    Edit {
        /// Số định danh cá nhân.
        citizen_id: String,
        /// Họ và tên.
        #[arg(long)]
        name: Option<String>,
        /// Chức vụ.
        #[arg(long)]
        position: Option<String>,
        /// Nhóm chức vụ (các mã như ở `kyso person add --position-kind`).
        #[arg(long)]
        position_kind: Option<String>,
        /// Chức danh.
        #[arg(long)]
        title: Option<String>,
        /// Địa chỉ thư điện tử.
        #[arg(long)]
        email: Option<String>,
        /// Số điện thoại.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Ghi nhận biến động của cán bộ: retired (Nghỉ hưu), resigned (Thôi việc), deceased (Từ trần),
    /// position_changed (Thay đổi vị trí công tác), moved (Chuyển cơ quan công tác). Đề xuất việc xử lý
    /// chứng thư số tới CQQLTT; khi cán bộ thôi công tác, các tài khoản của cán bộ bị vô hiệu hóa.
    Event {
        /// Số định danh cá nhân.
        citizen_id: String,
        /// Loại biến động (các mã như trên).
        #[arg(long)]
        event: String,
        /// Ngày có hiệu lực (YYYY-MM-DD hoặc DD/MM/YYYY).
        #[arg(long)]
        on: String,
        /// Quyết định làm căn cứ (số và ngày).
        #[arg(long)]
        basis: String,
        /// Khi chuyển cơ quan: mã cơ quan mới.
        #[arg(long)]
        agency: Option<String>,
        /// Khi thay đổi vị trí: chức vụ mới.
        #[arg(long)]
        position: Option<String>,
        /// Nhóm chức vụ mới.
        #[arg(long)]
        position_kind: Option<String>,
        /// Chức danh mới.
        #[arg(long)]
        title: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProposalCmd {
    /// Đề xuất xử lý chứng thư số phát sinh từ biến động của cán bộ (chỉ các đề xuất đang mở, trừ khi có --all).
    List {
        /// Xem cả các đề xuất đã xử lý.
        #[arg(long)]
        all: bool,
    },
    /// Lập yêu cầu theo đề xuất (tạo và gửi trong một thao tác).
    Accept {
        /// Mã số đề xuất.
        id: i64,
    },
    /// Bỏ qua một đề xuất, kèm lý do.
    Dismiss {
        /// Mã số đề xuất.
        id: i64,
        /// Lý do.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct PersonAddArgs {
    /// Họ và tên.
    #[arg(long)]
    pub name: String,
    /// Số định danh cá nhân (12 chữ số).
    #[arg(long)]
    pub citizen_id: String,
    /// Ngày sinh: YYYY-MM-DD hoặc DD/MM/YYYY.
    #[arg(long)]
    pub born: String,
    /// Giới tính: nam / nữ.
    #[arg(long)]
    pub gender: String,
    /// Chức vụ, ví dụ "Phó Giám đốc".
    #[arg(long)]
    pub position: String,
    /// Nhóm chức vụ: leader (Người đứng đầu), deputy_leader (Cấp phó của người đứng đầu), council_committee_head (Trưởng ban của HĐND), chief_of_office (Chánh Văn phòng), chief_inspector (Chánh Thanh tra), one_stop_officer (Công chức tại Trung tâm hành chính công / bộ phận một cửa), records_clerk (Văn thư), specialist (Chuyên viên), other (Khác).
    #[arg(long, default_value = "other")]
    pub position_kind: String,
    /// Chức danh.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Mã cơ quan công tác.
    #[arg(long)]
    pub agency: String,
    /// Địa chỉ thư điện tử.
    #[arg(long)]
    pub email: String,
    /// Số điện thoại.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Tạo một tài khoản.
    Add {
        /// Tên đăng nhập.
        login: String,
        /// Gắn tài khoản với một cán bộ (số định danh cá nhân).
        #[arg(long)]
        citizen_id: Option<String>,
    },
    /// Giao một vai trò đối với một cơ quan và toàn bộ các đơn vị trực thuộc.
    Grant {
        /// Tên đăng nhập.
        login: String,
        /// Vai trò: provincial_manager (Người quản lý thuê bao cấp tỉnh), it_staff (Cán bộ Trung tâm CNTT), agency_officer (Cán bộ CQQLTT), records_clerk (Văn thư), subscriber (Thuê bao), auditor (Kiểm tra viên, chỉ xem).
        #[arg(long)]
        role: String,
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
    },
    /// Liệt kê các tài khoản.
    List,
    /// Vô hiệu hóa một tài khoản: tài khoản không thể thao tác được nữa.
    Disable {
        /// Tên đăng nhập.
        login: String,
    },
    /// Thu hồi một vai trò của tài khoản.
    Revoke {
        /// Tên đăng nhập.
        login: String,
        /// Vai trò (các mã như ở `kyso user grant`).
        #[arg(long)]
        role: String,
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
    },
    /// Đặt mật khẩu cho một tài khoản: mật khẩu tạm, người dùng phải đổi ở lần đăng nhập đầu (trừ khi có --lasting). Mật khẩu lấy từ biến KYSO_NEW_PASSWORD hoặc được hỏi trên cửa sổ dòng lệnh; ít nhất 12 ký tự, không chứa tên đăng nhập hay số CCCD. Các phiên đang mở của tài khoản kết thúc và các mã truy cập API của nó bị thu hồi.
    Password {
        /// Tên đăng nhập.
        login: String,
        /// Mật khẩu dùng lâu dài, không phải đổi (chỉ người vận hành trên máy chủ).
        #[arg(long)]
        lasting: bool,
    },
    /// Xóa TOTP và mã khôi phục của một tài khoản (mất điện thoại): các phiên đang mở kết thúc, mã truy cập API bị thu hồi; tài khoản có vai trò cần xác thực hai yếu tố phải đăng ký lại ở lần đăng nhập sau.
    Reset2fa {
        /// Tên đăng nhập.
        login: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SubscriberCmd {
    /// Đăng ký một cán bộ làm thuê bao cá nhân.
    Individual {
        /// Số định danh cá nhân.
        #[arg(long)]
        citizen_id: String,
        /// Cơ quan quản lý trực tiếp (mặc định: cơ quan có con dấu riêng gần nhất ở cấp trên).
        #[arg(long)]
        managing: Option<String>,
    },
    /// Đăng ký một cơ quan có con dấu riêng làm thuê bao cơ quan, tổ chức.
    Organisation {
        /// Mã cơ quan.
        #[arg(long)]
        agency: String,
        /// Cơ quan quản lý trực tiếp (mặc định: cơ quan có con dấu riêng gần nhất ở cấp trên).
        #[arg(long)]
        managing: Option<String>,
    },
    /// Đăng ký thuê bao là thiết bị, dịch vụ hoặc phần mềm.
    Device {
        /// Mã cơ quan quản lý thiết bị, dịch vụ, phần mềm.
        #[arg(long)]
        agency: String,
        /// Tên thiết bị, dịch vụ, phần mềm.
        #[arg(long)]
        name: String,
        /// Địa chỉ thư điện tử.
        #[arg(long)]
        email: Option<String>,
        /// Cơ quan quản lý trực tiếp (mặc định: cơ quan có con dấu riêng gần nhất ở cấp trên).
        #[arg(long)]
        managing: Option<String>,
    },
    /// Liệt kê thuê bao.
    List {
        /// Chỉ trong cơ quan này và các đơn vị trực thuộc (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Nhập một thiết bị lưu khóa vào kho.
    Add {
        /// Số sê-ri của thiết bị.
        #[arg(long)]
        serial: String,
        /// Loại thiết bị: usb_token (USB token), sim_pki (SIM PKI), smartcard (Thẻ thông minh), hsm (HSM).
        #[arg(long)]
        kind: String,
        /// Chủng loại (model) thiết bị.
        #[arg(long)]
        model: String,
        /// Mã cơ quan quản lý thiết bị.
        #[arg(long)]
        agency: String,
    },
    /// Liệt kê thiết bị lưu khóa.
    List {
        /// Chỉ trong cơ quan này và các đơn vị trực thuộc (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// Chỉ các thiết bị quá hạn nộp lại.
        #[arg(long)]
        overdue: bool,
    },
    /// Xem một thiết bị lưu khóa.
    Show {
        /// Số sê-ri của thiết bị.
        serial: String,
    },
    /// Nộp lại thiết bị (Điều 71 NĐ 130): người đang giữ giao cho người nhận, có biên bản bàn giao.
    Return {
        /// Số sê-ri của thiết bị.
        serial: String,
        /// Số định danh cá nhân của người nhận (cán bộ CQQLTT hoặc đại diện của tổ chức chứng thực).
        #[arg(long)]
        to: String,
        /// Lý do nộp lại.
        #[arg(long, default_value = "Nộp lại thiết bị sau khi thu hồi chứng thư số")]
        reason: String,
    },
    /// Ghi nhận sự kiện của thiết bị: in_use (Đang sử dụng, sau khi bàn giao và kích hoạt), locked (Bị khóa), damaged (Hư hỏng).
    Status {
        /// Số sê-ri của thiết bị.
        serial: String,
        /// Trạng thái mới: in_use, locked hoặc damaged.
        status: String,
    },
    /// Phân công thiết bị trong kho cho người giữ (thiết bị của cơ quan, tổ chức: giao cho văn thư, theo quyết định).
    Assign {
        /// Số sê-ri của thiết bị.
        serial: String,
        /// Số định danh cá nhân của người giữ.
        #[arg(long)]
        to: String,
        /// Thiết bị của cơ quan, tổ chức (giao cho văn thư).
        #[arg(long)]
        organisation: bool,
        /// Số và ngày của quyết định bằng văn bản.
        #[arg(long)]
        decision: Option<String>,
    },
    /// Bàn giao thiết bị (mẫu 14 / Mẫu 07 NĐ 68); cũng dùng khi thay đổi người giữ.
    Handover {
        /// Số sê-ri của thiết bị.
        serial: String,
        /// Số định danh cá nhân của người giao (khi thay đổi người giữ: người đang giữ).
        #[arg(long)]
        from: Option<String>,
        /// Số định danh cá nhân của người nhận.
        #[arg(long)]
        to: String,
        /// Lý do bàn giao.
        #[arg(long, default_value = "Cấp mới")]
        reason: String,
        /// Số và ngày của quyết định bằng văn bản.
        #[arg(long)]
        decision: Option<String>,
    },
    /// Báo mất thiết bị, kèm biên bản xác nhận của CQQLTT (mẫu 15); tự động lập các yêu cầu thu hồi.
    Lost {
        /// Số sê-ri của thiết bị.
        serial: String,
        /// Số và ngày của biên bản xác nhận.
        #[arg(long)]
        record: String,
    },
    /// Các biên bản bàn giao của thiết bị.
    History {
        /// Số sê-ri của thiết bị.
        serial: String,
    },
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum CertCmd {
    /// Đưa vào hệ thống các chứng thư số mà CA chuyên dùng Chính phủ đã cấp: các tệp chứng thư số (PEM, DER, PKCS#7)
    /// và/hoặc danh sách của CA (CSV), đối chiếu với cán bộ theo số định danh cá nhân, thư điện tử, rồi họ tên và cơ quan;
    /// chứng thư số không đối chiếu được chuyển sang chờ rà soát ('kyso cert review').
    Import {
        /// Các tệp chứng thư số.
        files: Vec<PathBuf>,
        /// Danh sách của CA, tệp CSV có dòng tiêu đề.
        #[arg(long)]
        list: Option<PathBuf>,
        /// FIELD=COLUMN cho danh sách: serial, subject, not_before, not_after (bắt buộc), issuer, email, citizen_id.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
    },
    /// Chứng thư số từ các lần nhập hàng loạt chưa đối chiếu được với cán bộ nào, đang chờ rà soát.
    Review,
    /// Nhập một chứng thư số đã có, được cấp ngoài kyso (chuyển đổi dữ liệu); không tính vào số liệu báo cáo nào.
    Add {
        /// Mã số thuê bao (xem `kyso subscriber list`).
        #[arg(long)]
        subscriber: i64,
        /// Số sê-ri của chứng thư số.
        #[arg(long)]
        serial: String,
        /// Chủ thể (subject) của chứng thư số.
        #[arg(long)]
        subject: String,
        /// Tổ chức cấp (issuer).
        #[arg(long)]
        issuer: String,
        /// Có hiệu lực từ (RFC 3339).
        #[arg(long)]
        not_before: String,
        /// Có hiệu lực đến (RFC 3339).
        #[arg(long)]
        not_after: String,
        /// Số sê-ri của thiết bị lưu khóa.
        #[arg(long)]
        device: Option<String>,
        /// Số lần đã gia hạn (0 hoặc 1).
        #[arg(long, default_value_t = 0)]
        renewal_count: u32,
    },
    /// Liệt kê chứng thư số.
    List {
        /// Chỉ trong cơ quan này và các đơn vị trực thuộc (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
        /// Chỉ các chứng thư số hết hạn trong vòng số ngày này (chưa bị thu hồi), sắp hết hạn xếp trước.
        #[arg(long)]
        expiring_within: Option<i64>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Xem một chứng thư số.
    Show {
        /// Số sê-ri của chứng thư số.
        serial: String,
    },
    /// Kiểm tra đường dẫn chứng thực (RFC 5280) tại một thời điểm: tên, chữ ký, thời hạn hiệu lực (kể cả
    /// của CA gốc), ràng buộc cơ bản và ràng buộc tên, mục đích sử dụng khóa, định danh khóa, EKU, phần mở rộng
    /// bắt buộc (critical), độ sâu tối đa nếu có, và tình trạng thu hồi theo các CRL được cung cấp (CRL của bên cấp
    /// mà không dùng được thì đường dẫn không hợp lệ). Mã thoát 0 nếu đường dẫn hợp lệ, 1 nếu không. Tin cậy
    /// mặc định: CA gốc tích hợp.
    Verify(CertVerifyArgs),
}

#[derive(Args, Debug)]
pub struct CertVerifyArgs {
    /// Chứng thư số (PEM hoặc DER).
    pub cert: PathBuf,
    /// Các chứng thư số trung gian (một tệp PEM có thể chứa nhiều chứng thư).
    #[arg(long)]
    pub chain: Vec<PathBuf>,
    /// Chứng thư số gốc tin cậy (mặc định: CA gốc tích hợp của hệ thống này).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Thời điểm đánh giá (RFC 3339; mặc định: hiện tại).
    #[arg(long)]
    pub at: Option<String>,
    /// Các CRL dùng để kiểm tra tình trạng thu hồi.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Mục đích sử dụng mà chứng thư số phải có (một OID, ví dụ 1.3.6.1.5.5.7.3.4).
    #[arg(long)]
    pub eku: Option<String>,
    /// Tối đa N chứng thư số CA trung gian giữa chứng thư số và CA gốc tin cậy (không tính các chứng thư
    /// tự cấp, ví dụ khi CA thay khóa); 0: do CA gốc cấp trực tiếp.
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum RequestCmd {
    /// Tạo một yêu cầu dự thảo.
    New(RequestNewArgs),
    /// Gửi một yêu cầu dự thảo (thuê bao hoặc cán bộ CQQLTT).
    Submit {
        /// Mã số yêu cầu.
        id: i64,
    },
    /// Xác nhận với tư cách cơ quan quản lý trực tiếp (CQQLTT), chịu trách nhiệm về dữ liệu.
    Confirm {
        /// Mã số yêu cầu.
        id: i64,
    },
    /// Kiểm tra với tư cách người quản lý thuê bao cấp tỉnh (khi hồ sơ tỉnh quy định yêu cầu đi qua người quản lý).
    Check {
        /// Mã số yêu cầu.
        id: i64,
    },
    /// Gửi các yêu cầu tới tổ chức chứng thực (CA) trong một lô.
    Send {
        /// Mã số các yêu cầu.
        ids: Vec<i64>,
    },
    /// Ghi nhận kết quả của tổ chức chứng thực.
    Complete(RequestCompleteArgs),
    /// Từ chối một yêu cầu, kèm lý do.
    Reject {
        /// Mã số yêu cầu.
        id: i64,
        /// Lý do từ chối.
        #[arg(long)]
        reason: String,
    },
    /// Hủy một yêu cầu.
    Cancel {
        /// Mã số yêu cầu.
        id: i64,
    },
    /// Đính kèm CSR được tạo trên token của thuê bao (cho CA bên ngoài).
    Csr {
        /// Mã số yêu cầu.
        id: i64,
        /// Tệp CSR.
        file: PathBuf,
    },
    /// Liệt kê các yêu cầu.
    List {
        /// Chỉ trong cơ quan này và các đơn vị trực thuộc (mã cơ quan).
        #[arg(long)]
        under: Option<String>,
        /// Trạng thái: draft (Dự thảo), submitted (Đã gửi, chờ CQQLTT xác nhận), confirmed (CQQLTT đã xác nhận), checked (Người quản lý thuê bao đã kiểm tra), sent_to_ca (Đã gửi tổ chức chứng thực), completed (Hoàn thành), rejected (Bị từ chối), cancelled (Đã hủy).
        #[arg(long)]
        state: Option<String>,
        /// Số dòng tối đa.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Xem một yêu cầu và lịch sử xử lý.
    Show {
        /// Mã số yêu cầu.
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct RequestNewArgs {
    /// Loại yêu cầu: new (Cấp mới chứng thư số, cho cá nhân, cơ quan, tổ chức hoặc thiết bị, dịch vụ, phần mềm theo loại thuê bao), renew (Gia hạn chứng thư số), change (Thay đổi nội dung thông tin chứng thư số), revoke (Thu hồi chứng thư số), restore (Khôi phục thiết bị lưu khóa bí mật).
    #[arg(long)]
    pub kind: String,
    /// Mã số thuê bao (xem `kyso subscriber list`).
    #[arg(long)]
    pub subscriber: i64,
    /// Số sê-ri chứng thư số (renew, change, revoke).
    #[arg(long)]
    pub certificate: Option<String>,
    /// Số sê-ri thiết bị (restore; với revoke, mặc định là thiết bị của chứng thư số).
    #[arg(long)]
    pub device: Option<String>,
    /// Thời hạn đề nghị của chứng thư số cấp mới, tính bằng tháng (tối đa 60).
    #[arg(long, default_value_t = 36)]
    pub validity_months: u32,
    /// Thời gian gia hạn đề nghị, tính bằng tháng (tối đa 36).
    #[arg(long, default_value_t = 36)]
    pub extension_months: u32,
    /// Thay đổi thông tin: FIELD=VALUE, với FIELD là name (Tên thuê bao), title (Chức danh), workplace (Nơi công tác / tổ chức cấp trên), email (Địa chỉ thư điện tử), tax_code (Mã số thuế), address (Địa chỉ hoạt động); có thể lặp lại.
    #[arg(long = "change")]
    pub changes: Vec<String>,
    /// Lý do thu hồi: key_compromise (Khóa bí mật bị lộ hoặc nghi bị lộ), device_lost (Thiết bị lưu khóa bí mật bị thất lạc), device_damaged (Thiết bị lưu khóa bí mật bị hư hỏng hoặc không an toàn), authority_request (Theo yêu cầu bằng văn bản của cơ quan tiến hành tố tụng, cơ quan công an), managing_agency_request (Theo yêu cầu bằng văn bản của cơ quan, tổ chức quản lý trực tiếp); riêng thuê bao cá nhân: position_changed (Thay đổi vị trí công tác, không còn phù hợp với chứng thư số), retired_or_left (Nghỉ hưu, thôi việc), deceased (Từ trần); riêng thuê bao cơ quan, tổ chức: dissolved (Cơ quan, tổ chức giải thể, chia tách, sáp nhập); riêng thuê bao thiết bị, dịch vụ, phần mềm: ceased_operation (Thiết bị, dịch vụ, phần mềm ngừng hoạt động).
    #[arg(long)]
    pub reason: Option<String>,
    /// Thu hồi kèm nộp lại thiết bị lưu khóa cho tổ chức chứng thực.
    #[arg(long)]
    pub device_return: bool,
    /// Thiết bị bị mất: số và ngày của biên bản xác nhận của CQQLTT (mẫu 15).
    #[arg(long)]
    pub lost_record: Option<String>,
    /// Khôi phục thiết bị: số điện thoại liên hệ của người giữ thiết bị.
    #[arg(long)]
    pub phone: Option<String>,
}

#[derive(Args, Debug)]
pub struct RequestCompleteArgs {
    /// Mã số yêu cầu.
    pub id: i64,
    /// Chứng thư số đã cấp: số sê-ri.
    #[arg(long)]
    pub serial: Option<String>,
    /// Chủ thể (subject) của chứng thư số đã cấp.
    #[arg(long)]
    pub subject: Option<String>,
    /// Tổ chức cấp (issuer).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Có hiệu lực từ: RFC 3339, ví dụ 2026-11-21T00:00:00+07:00.
    #[arg(long)]
    pub not_before: Option<String>,
    /// Có hiệu lực đến (RFC 3339).
    #[arg(long)]
    pub not_after: Option<String>,
    /// Thiết bị lưu khóa chứa chứng thư số mới.
    #[arg(long)]
    pub device: Option<String>,
    /// Thu hồi: thời điểm CA thu hồi (RFC 3339; mặc định: hiện tại).
    #[arg(long)]
    pub revoked_at: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// 2026-H1, 2026-H2, 2026-Q1…Q4 hoặc 2026: kỳ báo cáo theo hồ sơ tỉnh, với các ngày chốt số liệu của kỳ.
    #[arg(long, required_unless_present = "from", conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// Ngày đầu của báo cáo đột xuất, YYYY-MM-DD; dùng cùng --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Ngày cuối của báo cáo đột xuất, YYYY-MM-DD.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Số liệu do cơ quan tự khai, KEY=NUMBER (ví dụ public_services=12); có thể lặp lại.
    #[arg(long = "input", value_name = "KEY=NUMBER")]
    pub inputs: Vec<String>,
    /// Chỉ cơ quan này và các đơn vị trực thuộc (mặc định: toàn tỉnh).
    #[arg(long)]
    pub agency: Option<String>,
    /// Xuất dạng CSV.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Kiểm tra mọi mắt xích của chuỗi nhật ký; chỉ ra sự kiện đầu tiên bị phá vỡ.
    Verify {
        /// Thư mục các điểm neo đã xuất (checkpoint-*.json): phát hiện nhật ký bị sửa rồi tính lại chuỗi.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Chứng thư gốc của TSA giữ ngoài cơ sở dữ liệu (PEM/DER), thay cho kho tin cậy trong cơ sở dữ liệu.
        #[arg(long, requires = "checkpoints")]
        tsa_root: Vec<PathBuf>,
    },
    /// Neo đầu chuỗi nhật ký bằng dấu thời gian RFC 3161 và xuất mọi điểm neo ra thư mục (ngoài cơ sở dữ liệu).
    Checkpoint {
        /// Thư mục ghi các tệp checkpoint-SỐ.json.
        #[arg(long)]
        out: PathBuf,
        /// Dịch vụ dấu thời gian: builtin (CA tích hợp, cần KYSO_CA_PIN) hoặc địa chỉ http:// của một TSA.
        #[arg(long, default_value = "builtin")]
        tsa: String,
    },
    /// Xem các sự kiện gần nhất.
    Tail {
        /// Số sự kiện.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

/// The English text clap gives the `help` subcommand it adds.
const CLAP_HELP_ABOUT: &str = "Print this message or the help of the given subcommand(s)";

/// The command line with clap's own words in Vietnamese: the usage line, the section
/// headings, `-h`/`-V`, the `help` subcommand and the `[env: …]`/`[default: …]` notes.
/// Parse with this, then turn the matches into [`Cli`] with `FromArgMatches`.
pub fn command_vi() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Building adds what clap generates (`--help`, `--version`, the `help` subcommand, the
    // global options in every subcommand), so that it can be translated below.
    cmd.build();
    localise(cmd)
}

fn localise(mut cmd: clap::Command) -> clap::Command {
    use clap::builder::StyledStr;
    use std::fmt::Write as _;

    let styles = cmd.get_styles().clone();
    let (head, ctx, val) = (*styles.get_usage(), *styles.get_context(), *styles.get_context_value());

    let mut template = StyledStr::new();
    let _ = write!(template, "{{before-help}}{{about-with-newline}}\n{head}Cách dùng:{head:#} {{usage}}\n\n{{all-args}}{{after-help}}");
    if cmd.get_about().is_some_and(|a| a.to_string() == CLAP_HELP_ABOUT) {
        cmd = cmd.about("In trợ giúp này, hoặc trợ giúp của lệnh con đã nêu");
    }
    cmd = cmd.help_template(template).subcommand_help_heading("Lệnh").subcommand_value_name("LỆNH");

    cmd = cmd.mut_args(|mut a| {
        let id = a.get_id().as_str().to_owned();
        if id == "help" && matches!(a.get_action(), clap::ArgAction::Help) {
            a = if a.get_long_help().is_some() {
                a.help("In trợ giúp (xem đầy đủ với '--help')").long_help("In trợ giúp (xem bản tóm tắt với '-h')")
            } else {
                a.help("In trợ giúp")
            };
        } else if id == "version" && matches!(a.get_action(), clap::ArgAction::Version) {
            a = a.help("In phiên bản");
        }
        // The notes clap writes after the help text, in Vietnamese.
        let mut notes = Vec::new();
        if let Some(env) = a.get_env().filter(|_| !a.is_hide_env_set()) {
            notes.push(format!("{ctx}[biến môi trường: {ctx:#}{val}{}{val:#}{ctx}]{ctx:#}", env.to_string_lossy()));
            a = a.hide_env(true);
        }
        if a.get_action().takes_values() && !a.is_hide_default_value_set() && !a.get_default_values().is_empty() {
            let values: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy())
                .map(|v| if v.is_empty() || v.contains(char::is_whitespace) { format!("{v:?}") } else { v.into_owned() })
                .collect();
            notes.push(format!("{ctx}[mặc định: {ctx:#}{val}{}{val:#}{ctx}]{ctx:#}", values.join(" ")));
            a = a.hide_default_value(true);
        }
        if !notes.is_empty() {
            let notes = notes.join(" ");
            let with_notes = |text: Option<&StyledStr>| {
                let mut s = text.cloned().unwrap_or_default();
                let _ = write!(s, "{}{notes}", if s.to_string().is_empty() { "" } else { " " });
                s
            };
            let long = a.get_long_help().map(|l| with_notes(Some(l)));
            let short = with_notes(a.get_help());
            a = a.help(short);
            if let Some(long) = long {
                a = a.long_help(long);
            }
        }
        // clap's own "Arguments"/"Options" headings cannot be translated; a heading of our
        // own replaces them. Under it clap sorts by display order, then by name: positionals
        // keep their order on the command line.
        if a.get_help_heading().is_none() {
            let heading = if a.is_positional() { "Tham số" } else { "Tùy chọn" };
            a = a.help_heading(heading);
        }
        if let Some(index) = a.get_index().filter(|_| a.is_positional()) {
            a = a.display_order(index);
        }
        // In a subcommand, the global options come after its own ones.
        if a.is_global_set() {
            let order = a.get_display_order();
            a = a.display_order(500 + order.min(400));
        }
        a
    });

    // The usage line: clap writes "[OPTIONS]" itself.
    let usage = cmd.render_usage().ansi().to_string();
    if usage.contains("[OPTIONS]") {
        let title_end = format!("Usage:{head:#} ");
        if let Some((_, line)) = usage.split_once(&title_end) {
            cmd = cmd.override_usage(line.replace("[OPTIONS]", "[TÙY_CHỌN]"));
        }
    }

    for sub in cmd.get_subcommands_mut() {
        *sub = localise(std::mem::take(sub));
    }
    cmd
}

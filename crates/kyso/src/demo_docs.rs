//! The demo's signed sample documents (`DIR/documents/`): one file for each appearance of
//! Decree 30/2020 and each signing order of the regulations, signed through the service with
//! the demo's certificates on their holders' tokens, so anyone can open and check them.

use super::demo::{device_token, officer_for, DemoWorld, Res, DEMO_USER_PIN};
use crate::error::CliError;
use chrono::{DateTime, Duration, Utc};
use kyso_core::document::{Document, PersonalStep};
use kyso_core::identity::personal::PersonRecord;
use kyso_core::registry::*;
use kyso_core::request::*;
use kyso_pdf::draft::Nd30Draft;
use kyso_service::{NewDocument, SignatureOptions};
use kyso_token::{Pin, Signer, Token as _};
use std::path::Path;
use std::sync::Arc;

const AGENCY: &str = "SNV";

fn io_err(e: std::io::Error) -> CliError {
    CliError { code: "environment", message: e.to_string(), rows: vec![], hint: None, exit: 2 }
}

fn pdf_err(e: kyso_pdf::PdfError) -> CliError {
    CliError::from(kyso_core::DomainError::invalid("pdf", e.to_string()))
}

/// A signer of the samples: account, certificate and key on the holder's token.
struct Holder {
    login: String,
    cert: Vec<u8>,
    key: Arc<dyn Signer>,
    token: String,
}

/// Makes sure `s` holds a valid certificate from the built-in CA on a token in use, running a
/// request through the service if needed (new, or change of information replacing an older
/// certificate from the government CA).
fn ensure_certificate(w: &mut DemoWorld, s: &Subscriber, now: DateTime<Utc>) -> Res<(Vec<u8>, String)> {
    let admin = w.actor("admin")?;
    let builtin = |w: &DemoWorld| -> Res<Option<(Vec<u8>, String)>> {
        let certs = w.svc.list_certificates(
            &admin,
            None,
            &kyso_store::CertificateFilter { subscriber: Some(s.id), exclude_revoked: true, ..Default::default() },
        )?;
        for c in certs.iter().filter(|c| c.status_at(now) == CertificateStatus::Valid) {
            if let (Some(der), Some(dev)) = (w.svc.certificate_der(c.serial.as_str())?, c.device_id) {
                let dev = w.svc.device_by_id(&admin, dev)?;
                if matches!(dev.status, DeviceStatus::InUse | DeviceStatus::HandedOver) {
                    return Ok(Some((der, dev.serial.to_string())));
                }
            }
        }
        Ok(None)
    };
    if let Some(found) = builtin(w)? {
        return Ok(found);
    }
    // Cancel what is open for this subscriber, then request.
    for q in w.svc.list_requests(&admin, None, None, 100_000)?.into_iter().filter(|q| q.subscriber_id == s.id && !q.state.is_final()) {
        let officer = officer_for(w, &q)?;
        let t = w.at(1);
        let _ = w.svc.transition(&officer, q.id, Action::Cancel, None, t);
    }
    let current = w
        .svc
        .list_certificates(
            &admin,
            None,
            &kyso_store::CertificateFilter { subscriber: Some(s.id), exclude_revoked: true, ..Default::default() },
        )?
        .into_iter()
        .find(|c| c.status_at(now) == CertificateStatus::Valid);
    let plan = match current {
        Some(c) => super::demo::Plan::Change(s.clone(), c),
        None => super::demo::Plan::New(s.clone()),
    };
    let q = super::demo::create(w, &plan)?;
    let officer = officer_for(w, &q)?;
    let t = w.at(5);
    let q = w.svc.transition(&officer, q.id, Action::Confirm, None, t)?;
    let t = w.at(5);
    let q = if w.svc.profile().routing.route_for(q.kind) == kyso_core::profile::Route::ViaManager {
        let m = w.actor("qltb")?;
        w.svc.transition(&m, q.id, Action::Check, None, t)?;
        w.svc.send_to_ca(&m, &[q.id], t)?.1.remove(0)
    } else {
        w.svc.send_to_ca(&officer, &[q.id], t)?.1.remove(0)
    };
    super::demo::complete(w, &q)?;
    builtin(w)?.ok_or_else(|| {
        CliError::from(kyso_core::DomainError::invalid("demo", format!("không cấp được chứng thư mẫu cho {}", s.display_name)))
    })
}

fn holder(w: &mut DemoWorld, s: &Subscriber, login: &str, person: Option<&PersonRecord>, role: &str, now: DateTime<Utc>) -> Res<Holder> {
    let (cert, device) = ensure_certificate(w, s, now)?;
    let admin = w.actor("admin")?;
    if !w.svc.list_users(&admin)?.iter().any(|u| u.0 == login) {
        let t = w.at(1);
        w.svc.add_user(&admin, login, person.map(|p| p.citizen_id.as_str()), t)?;
        w.svc.grant(&admin, login, role, AGENCY, t)?;
    }
    let token = device_token(w, &device)?;
    let session = token.login(&Pin::new(DEMO_USER_PIN)).map_err(crate::tokens::token_err)?;
    let (_, info) = kyso_pki::cert::parse(&cert).map_err(|e| CliError::from(kyso_core::DomainError::invalid("cert", e.to_string())))?;
    for k in session.keys().map_err(crate::tokens::token_err)? {
        let key = session.signer(&k.label).map_err(crate::tokens::token_err)?;
        if key.public_key_spki() == info.spki_der {
            return Ok(Holder { login: login.into(), cert, key, token: device.clone() });
        }
    }
    Err(CliError::from(kyso_core::DomainError::invalid("demo", format!("thiết bị {device} không có khóa của chứng thư"))))
}

fn draft(kind: &str, title: &str, titles: &[&str], signer: &str, body: &[&str]) -> Nd30Draft {
    Nd30Draft {
        parent_agency: "UBND TỈNH BẮC NINH".into(),
        agency: "SỞ NỘI VỤ".into(),
        symbol: match kind {
            "QUYẾT ĐỊNH" => "QĐ-SNV",
            "BIÊN BẢN" => "BB-SNV",
            _ => "SNV-VP",
        }
        .into(),
        place: "Bắc Ninh".into(),
        year: 2026,
        kind: kind.into(),
        title: title.into(),
        body: body.iter().map(|s| s.to_string()).collect(),
        signer_titles: titles.iter().map(|s| s.to_string()).collect(),
        signer_name: signer.into(),
        recipients: vec!["Như Điều 3".into(), "Lưu: VT, TCBC".into()],
    }
}

/// The sample files and what each shows.
pub struct Samples {
    pub documents: Vec<(String, String)>,
    /// (login, token label, role) of the sample signers.
    pub signers: Vec<(String, String, String)>,
}

pub fn sample_documents(cli: &crate::cli::Cli, w: &mut DemoWorld, now: DateTime<Utc>) -> Res<Samples> {
    let admin = w.actor("admin")?;
    let agency = w.svc.agency(&admin, AGENCY)?;
    let staff: Vec<PersonRecord> =
        w.svc.list_persons(&admin, Some(AGENCY), 1000, now)?.into_iter().filter(|p| p.agency_id == agency.id).collect();
    let by_kind = |k: PositionKind| staff.iter().find(|p| p.position_kind == k).cloned();
    let (leader, deputy, clerk) = (by_kind(PositionKind::Leader), by_kind(PositionKind::DeputyLeader), by_kind(PositionKind::RecordsClerk));
    let specialist = staff.iter().find(|p| p.position_kind == PositionKind::Specialist).cloned();
    let (Some(leader), Some(deputy), Some(clerk), Some(specialist)) = (leader, deputy, clerk, specialist) else {
        return Ok(Samples { documents: vec![], signers: vec![] });
    };
    let sub_of = |w: &mut DemoWorld, p: &PersonRecord| -> Res<Subscriber> {
        match w.svc.subscriber_of_person(&admin, p.id)? {
            Some(s) => Ok(s),
            None => {
                let t = w.at(1);
                let s = w.svc.add_subscriber(
                    &admin,
                    &kyso_service::SubscriberInput::Individual { citizen_id: p.citizen_id.to_string() },
                    None,
                    t,
                )?;
                // Its token, from the IT Centre's stock.
                let serial = super::demo::device_serial_of(&s);
                w.svc.add_device(
                    &admin,
                    &kyso_service::DeviceInput {
                        serial: serial.clone(),
                        kind: "usb_token".into(),
                        model: "Bit4id TokenME EVO v2".into(),
                        agency_code: AGENCY.into(),
                    },
                    t,
                )?;
                w.svc.assign_device(&admin, &serial, p.citizen_id.as_str(), false, None, t)?;
                w.svc.hand_over(
                    &admin,
                    &serial,
                    &kyso_service::Handover { from_cid: None, to_cid: p.citizen_id.as_str(), reason: "Cấp mới", decision: None },
                    t,
                )?;
                w.svc.set_device_status(&admin, &serial, "in_use", t)?;
                Ok(s)
            }
        }
    };
    let (s_leader, s_deputy, s_spec) = (sub_of(w, &leader)?, sub_of(w, &deputy)?, sub_of(w, &specialist)?);
    let s_org = w.svc.subscriber_of_agency(&admin, AGENCY)?.expect("demo organisation subscriber");
    let gd = holder(w, &s_leader, "giamdoc.snv", Some(&leader), "subscriber", now)?;
    let pgd = holder(w, &s_deputy, "phogiamdoc.snv", Some(&deputy), "subscriber", now)?;
    let cv = holder(w, &s_spec, "chuyenvien.snv", Some(&specialist), "subscriber", now)?;
    let vt = holder(w, &s_org, "vanthu.snv", Some(&clerk), "records_clerk", now)?;
    let t = w.at(1);
    w.svc.set_signature_image(&w.actor("admin")?, leader.citizen_id.as_str(), &kyso_pdf::samples::signature_png(), t)?;
    w.svc.set_signature_image(&w.actor("admin")?, deputy.citizen_id.as_str(), &kyso_pdf::samples::signature_png(), t)?;
    w.svc.set_seal_image(&w.actor("vanthu.snv")?, AGENCY, &kyso_pdf::samples::seal_png(), 36.0, t)?;

    let dir = cli.data.join("documents");
    std::fs::create_dir_all(&dir).map_err(io_err)?;
    let drafts = dir.join(".drafts");
    std::fs::create_dir_all(&drafts).map_err(io_err)?;
    // Signing happens now, a minute apart, so the certificates are valid for any verifier.
    let mut at = now - Duration::minutes(30);
    let mut step = || {
        at += Duration::minutes(1);
        at
    };
    let ca = &w.ca;
    let svc = &w.svc;
    // The samples' time-stamps come from the built-in TSA, as the server gives them.
    let ca_service = kyso_service::Principal::ca_service();
    let tsa = |req: &[u8]| svc.timestamp(&ca_service, req, &**ca, now).map_err(|e| e.to_string());
    let mut out = Vec::new();
    let write_draft = |name: &str, d: &Nd30Draft| -> Res<std::path::PathBuf> {
        let p = drafts.join(name);
        std::fs::write(&p, d.to_pdf().map_err(pdf_err)?).map_err(io_err)?;
        Ok(p)
    };
    let add =
        |kind: &str, title: &str, competent: Option<&PersonRecord>, parent: Option<i64>, file: &Path, at: DateTime<Utc>| -> Res<Document> {
            Ok(svc.create_document(
                &svc.local_operator("vanthu.snv")?,
                &NewDocument {
                    agency_code: AGENCY.into(),
                    kind: kind.into(),
                    title: title.into(),
                    file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    symbol: (kind == "issued").then(|| "QĐ-SNV".into()),
                    competent_cid: competent.map(|p| p.citizen_id.to_string()),
                    parent_id: parent,
                },
                file,
                at,
            )?)
        };
    let sign = |h: &Holder, id: i64, o: SignatureOptions, at: DateTime<Utc>, with_tsa: bool| -> Res<Document> {
        let t: Option<kyso_pdf::Tsa<'_>> = if with_tsa { Some(&tsa) } else { None };
        Ok(svc.sign_document(&svc.local_operator(&h.login)?, id, &o, &*h.key, t, at)?)
    };
    let personal = |h: &Holder, s: PersonalStep| SignatureOptions::new(Some(s), h.cert.clone());
    let seal = |h: &Holder| SignatureOptions::new(None, h.cert.clone());
    let mut export = |d: &Document, name: &str, what: &str| -> Res<()> {
        svc.export_document(&svc.local_operator("vanthu.snv")?, d.id, &dir.join(name))?;
        out.push((name.to_string(), what.to_string()));
        Ok(())
    };
    let body = [
        "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
        "Căn cứ Quyết định số 09/2023/QĐ-UBND của Ủy ban nhân dân tỉnh Bắc Ninh về quản lý, sử dụng chữ ký số chuyên dùng;",
        "Điều 1. Cử các công chức có tên sau tham dự lớp tập huấn sử dụng chữ ký số trong văn bản điện tử.",
        "Điều 2. Quyết định có hiệu lực kể từ ngày ký. Điều 3. Các phòng, đơn vị và cá nhân có tên tại Điều 1 chịu trách nhiệm thi hành.",
    ];

    // 1. The director signs, then the records clerk numbers and seals (B-T, time-stamped).
    let gd_title = leader.position.to_uppercase();
    let f = write_draft(
        "01.pdf",
        &draft("QUYẾT ĐỊNH", "Về việc cử công chức tham dự tập huấn chữ ký số", &[&gd_title], leader.full_name.as_str(), &body),
    )?;
    let d1 = add("issued", "Quyết định cử công chức tham dự tập huấn chữ ký số", Some(&leader), None, &f, step())?;
    let mut o = personal(&gd, PersonalStep::Approve);
    o.level = kyso_pdf::Level::T;
    sign(&gd, d1.id, o, step(), true)?;
    let mut o = seal(&vt);
    o.level = kyso_pdf::Level::T;
    o.recipients = Some("Như Điều 3; Lưu: VT, TCBC".into());
    let d1 = sign(&vt, d1.id, o, step(), true)?;
    export(
        &d1,
        "01-giam-doc-ky-van-thu-dong-dau.pdf",
        "Văn bản ban hành: Giám đốc ký, văn thư cấp số và ký số của cơ quan (PAdES B-T, có dấu thời gian)",
    )?;

    // 2. A specialist checks the content, the deputy approves (KT.), the clerk seals.
    let pgd_title = deputy.position.to_uppercase();
    let kt = format!("KT. {}", leader.position.to_uppercase());
    let f = write_draft(
        "02.pdf",
        &draft(
            "QUYẾT ĐỊNH",
            "Về việc phân công công chức quản lý thiết bị lưu khóa bí mật",
            &[&kt, &pgd_title],
            deputy.full_name.as_str(),
            &body,
        ),
    )?;
    let d2 = add("issued", "Quyết định phân công quản lý thiết bị lưu khóa bí mật", Some(&deputy), None, &f, step())?;
    sign(&cv, d2.id, personal(&cv, PersonalStep::CheckContent), step(), false)?;
    sign(&pgd, d2.id, personal(&pgd, PersonalStep::Approve), step(), false)?;
    let d2 = sign(&vt, d2.id, seal(&vt), step(), false)?;
    export(
        &d2,
        "02-kiem-tra-noi-dung-pho-giam-doc-ky-van-thu-dong-dau.pdf",
        "Văn bản ban hành, nhiều chữ ký: chuyên viên kiểm tra nội dung (ký ẩn), Phó Giám đốc ký thay, văn thư ký số của cơ quan",
    )?;

    // 3. A paper original already signed and stamped, scanned and sealed to be sent.
    let f = write_draft(
        "03.pdf",
        &draft("", "Về việc báo cáo tình hình sử dụng chữ ký số 6 tháng đầu năm", &[&gd_title], leader.full_name.as_str(), &body[..2]),
    )?;
    let d3 = add("scanned", "Công văn báo cáo tình hình sử dụng chữ ký số (bản giấy đã ký)", None, None, &f, step())?;
    let mut o = seal(&vt);
    o.paper_number = Some("215/SNV-VP".into());
    let d3 = sign(&vt, d3.id, o, step(), false)?;
    export(
        &d3,
        "03-van-ban-giay-so-hoa-de-phat-hanh.pdf",
        "Văn bản giấy đã ký, đóng dấu, số hóa rồi ký số của cơ quan (dấu đỏ góc trên phải)",
    )?;

    // 4. An electronic copy (SAO Y) of a paper document.
    let f = write_draft("04.pdf", &draft("QUYẾT ĐỊNH", "Về việc công nhận kết quả tập huấn", &["CHỦ TỊCH"], "Nguyễn Văn Chủ", &body[..2]))?;
    let d4 = add("copy", "Bản sao y Quyết định công nhận kết quả tập huấn", None, None, &f, step())?;
    let mut o = seal(&vt);
    o.copy_type = Some("SAO Y".into());
    let d4 = sign(&vt, d4.id, o, step(), false)?;
    export(&d4, "04-ban-sao-y-tu-van-ban-giay.pdf", "Bản sao điện tử (SAO Y) từ văn bản giấy: chữ góc trên phải, không hình ảnh")?;

    // 5. An incoming paper document digitised for processing.
    let f = write_draft("05.pdf", &draft("", "Về việc đề nghị cấp chứng thư số", &["GIÁM ĐỐC"], "Trần Văn Gửi", &body[..1]))?;
    let d5 = add("digitised", "Văn bản đến số hóa: đề nghị cấp chứng thư số", None, None, &f, step())?;
    let d5 = sign(&vt, d5.id, seal(&vt), step(), false)?;
    export(&d5, "05-van-ban-den-so-hoa.pdf", "Văn bản đến được số hóa: hình con dấu và tên cơ quan góc trên phải")?;

    // 6. An appendix of document 1, in its own file.
    let f = write_draft(
        "06.pdf",
        &draft(
            "",
            "Phụ lục: Danh sách công chức tham dự tập huấn",
            &[],
            "",
            &["1. Nguyễn Văn A – Phòng Tổ chức – Biên chế", "2. Trần Thị B – Văn phòng Sở"],
        ),
    )?;
    let d6 = add("attachment", "Phụ lục danh sách công chức tham dự tập huấn", None, Some(d1.id), &f, step())?;
    let d6 = sign(&vt, d6.id, seal(&vt), step(), false)?;
    export(&d6, "06-phu-luc-kem-theo-van-ban.pdf", "Phụ lục tách rời: số, ký hiệu của văn bản chính và thời gian ký, góc trên phải")?;

    // 7. Minutes signed by several persons, not issued.
    let f = write_draft(
        "07.pdf",
        &draft("BIÊN BẢN", "Họp kiểm tra tình trạng thiết bị lưu khóa bí mật", &[&gd_title], leader.full_name.as_str(), &body[2..]),
    )?;
    let d7 = add("internal", "Biên bản họp kiểm tra thiết bị lưu khóa bí mật", None, None, &f, step())?;
    sign(&cv, d7.id, personal(&cv, PersonalStep::CheckContent), step(), false)?;
    let mut o = personal(&pgd, PersonalStep::CheckFormat);
    o.invisible = true;
    sign(&pgd, d7.id, o, step(), false)?;
    let d7 = sign(&gd, d7.id, personal(&gd, PersonalStep::Approve), step(), false)?;
    export(
        &d7,
        "07-bien-ban-nhieu-nguoi-ky-khong-ban-hanh.pdf",
        "Nhiều chữ ký cá nhân, không ban hành: hai chữ ký ẩn và chữ ký của Giám đốc",
    )?;

    // The roots to trust when checking them.
    let certs = svc.ca_certs()?;
    std::fs::write(dir.join("root.pem"), kyso_pki::pem("CERTIFICATE", &certs.root)).map_err(io_err)?;
    let _ = std::fs::remove_dir_all(&drafts);
    let mut readme = String::from(
        "Văn bản mẫu đã ký số (kyso demo)\n\nMỗi tệp minh họa một hình thức thể hiện chữ ký số theo Nghị định 30/2020/NĐ-CP và một trình tự ký theo quy chế:\n\n",
    );
    for (name, what) in &out {
        readme.push_str(&format!("- {name}: {what}\n"));
    }
    readme.push_str("\nKiểm tra: pdfsig TỆP.pdf (tin cậy root.pem), hoặc pyhanko sign validate --trust root.pem TỆP.pdf.\n");
    let signers = vec![
        (gd.login.clone(), gd.token.clone(), format!("{} ({})", leader.position, leader.full_name)),
        (pgd.login.clone(), pgd.token.clone(), format!("{} ({})", deputy.position, deputy.full_name)),
        (cv.login.clone(), cv.token.clone(), format!("{} ({})", specialist.position, specialist.full_name)),
        (vt.login.clone(), vt.token.clone(), format!("Văn thư ({}), giữ thiết bị của cơ quan", clerk.full_name)),
    ];
    readme.push_str("Các chứng thư của CA tích hợp có địa chỉ OCSP http://127.0.0.1:8480: chạy 'kyso serve' trước, hoặc dùng pdfsig -no-ocsp.\n\nNgười ký mẫu (tài khoản, thiết bị, PIN 123456):\n");
    for (login, token, who) in &signers {
        readme.push_str(&format!("- {login}: thiết bị {token}, {who}\n"));
    }
    std::fs::write(dir.join("README.txt"), readme).map_err(io_err)?;
    Ok(Samples { documents: out, signers })
}

//! Drafts written by kyso-pdf, and anchors found in them and in foreign files.

use kyso_pdf::draft::Nd30Draft;
use kyso_pdf::reader::PdfDoc;
use kyso_pdf::text::find_text;

pub fn draft() -> Nd30Draft {
    Nd30Draft {
        parent_agency: "UBND TỈNH BẮC NINH".into(),
        agency: "SỞ NỘI VỤ".into(),
        symbol: "QĐ-SNV".into(),
        place: "Bắc Ninh".into(),
        year: 2026,
        kind: "QUYẾT ĐỊNH".into(),
        title: "Về việc cử cán bộ tham dự tập huấn chữ ký số".into(),
        body: vec!["Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;".repeat(3)],
        signer_titles: vec!["KT. GIÁM ĐỐC".into(), "PHÓ GIÁM ĐỐC".into()],
        signer_name: "Nguyễn Văn An".into(),
        recipients: vec!["Như Điều 3".into(), "Lưu: VT".into()],
    }
}

#[test]
fn anchors_are_found_where_the_text_is_drawn() {
    let pdf = draft().to_pdf().unwrap();
    let doc = PdfDoc::open(&pdf).unwrap();
    let title = find_text(&doc, "PHÓ GIÁM ĐỐC").unwrap().expect("title line");
    assert_eq!(title.page, 1);
    assert!((title.size - 13.0).abs() < 0.01, "{title:?}");
    assert!(title.x0 > 300.0 && title.x1 < 500.0 && title.x0 < title.x1, "{title:?}");
    // "GIÁM ĐỐC" occurs twice; the lowest (the signature block's) is taken.
    let lowest = find_text(&doc, "GIÁM ĐỐC").unwrap().unwrap();
    assert!((lowest.y - title.y).abs() < 0.01);
    let number = find_text(&doc, "Số:").unwrap().unwrap();
    assert!(number.y > 700.0 && number.x1 < 250.0, "{number:?}");
    // White space and composed/decomposed forms do not matter.
    assert!(find_text(&doc, "PHO\u{301} GIA\u{301}M  ĐÔ\u{301}C").unwrap().is_some());
    assert_eq!(find_text(&doc, "CHỦ TỊCH").unwrap(), None);
    assert!(find_text(&doc, "  ").is_err());
}

#[test]
fn anchors_in_a_plain_type1_file() {
    // A foreign file: Helvetica without a ToUnicode map, text drawn with Td and Tj.
    let content = "BT /F1 18 Tf 72 720 Td (Van ban so 0) Tj 0 -30 Td [(CHU) -250 (TICH)] TJ ET";
    let body = format!(
        "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Length {} >>\nstream\n{content}\nendstream\nendobj\n",
        content.len()
    );
    let mut pdf = body.into_bytes();
    let xref = pdf.len();
    let offsets: Vec<usize> = (1..=4).map(|n| pdf.windows(8).position(|w| w == format!("{n} 0 obj\n").as_bytes()).unwrap()).collect();
    pdf.extend_from_slice(b"xref\n0 5\n0000000000 65535 f\r\n");
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    pdf.extend_from_slice(format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let doc = PdfDoc::open(&pdf).unwrap();
    let hit = find_text(&doc, "ban so").unwrap().unwrap();
    assert!((hit.y - 720.0).abs() < 0.01 && hit.x0 > 72.0 && hit.x0 < 120.0, "{hit:?}");
    let tj = find_text(&doc, "CHU TICH").unwrap().unwrap();
    assert!((tj.y - 690.0).abs() < 0.01 && (tj.x0 - 72.0).abs() < 0.01, "{tj:?}");
}

#[test]
fn the_header_of_a_received_document_is_read_from_its_text() {
    // A kyso draft: the two columns of the header come apart, and the blanks stay blank.
    let pdf = draft().to_pdf().unwrap();
    let doc = PdfDoc::open(&pdf).unwrap();
    let runs = kyso_pdf::text::page_runs(&doc, 1).unwrap();
    assert!(runs.iter().any(|r| r == "Số: /QĐ-SNV"), "{runs:?}");
    assert!(runs.iter().any(|r| r == "Bắc Ninh, ngày tháng năm 2026"), "{runs:?}");
    assert_eq!(kyso_pdf::decree30::read_header(&doc).unwrap(), kyso_pdf::decree30::Header::default());
    // Another producer's header, number and date printed in full on one baseline.
    let line = |text: &str, x: f64| kyso_pdf::appearance::Line { text: text.into(), x, y: 745.0, size: 13.0, color: [0.0; 3] };
    let pdf = kyso_pdf::draft::text_pdf(&[vec![line("Số: 15/QĐ-UBND", 90.0), line("Hà Nội, ngày 02 tháng 12 năm 2026", 300.0)]]).unwrap();
    let h = kyso_pdf::decree30::read_header(&PdfDoc::open(&pdf).unwrap()).unwrap();
    assert_eq!(h.number.as_deref(), Some("15/QĐ-UBND"));
    assert_eq!(h.date, chrono::NaiveDate::from_ymd_opt(2026, 12, 2));
}

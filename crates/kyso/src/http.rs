//! Outgoing HTTP for the CLI (time-stamp requests to a TSA).

/// POSTs `body` and returns the response body; non-2xx statuses are errors.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("chỉ hỗ trợ địa chỉ http:// cho dịch vụ dấu thời gian (nhận được '{url}')"));
    }
    let mut resp =
        ureq::post(url).header("Content-Type", content_type).send(body).map_err(|e| format!("không gửi được yêu cầu tới {url}: {e}"))?;
    resp.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|e| format!("không đọc được phản hồi từ {url}: {e}"))
}

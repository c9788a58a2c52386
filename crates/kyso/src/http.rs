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

/// GETs JSON; non-2xx statuses are errors carrying the body's message.
pub fn get_json(url: &str) -> Result<serde_json::Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut resp = agent.get(url).call().map_err(|e| format!("không kết nối được {url}: {e}"))?;
    read_json(url, resp.status().as_u16(), resp.body_mut().with_config().limit(4 << 20).read_to_vec()).map_err(|e| e.message)
}

/// A refusal from a JSON service: its error code (the body's `error`), where it gave one.
pub struct JsonError {
    pub code: Option<String>,
    pub message: String,
}

/// POSTs JSON and reads JSON; non-2xx statuses are errors carrying the body's message.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    post_json_coded(url, body).map_err(|e| e.message)
}

/// Like [`post_json`], keeping the error code of a refusal.
pub fn post_json_coded(url: &str, body: &serde_json::Value) -> Result<serde_json::Value, JsonError> {
    let plain = |message: String| JsonError { code: None, message };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let bytes = serde_json::to_vec(body).map_err(|e| plain(e.to_string()))?;
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(&bytes[..])
        .map_err(|e| plain(format!("không kết nối được {url}: {e}")))?;
    read_json(url, resp.status().as_u16(), resp.body_mut().with_config().limit(4 << 20).read_to_vec())
}

fn read_json(url: &str, status: u16, body: Result<Vec<u8>, ureq::Error>) -> Result<serde_json::Value, JsonError> {
    let plain = |message: String| JsonError { code: None, message };
    let body = body.map_err(|e| plain(format!("không đọc được phản hồi từ {url}: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| plain(format!("{url} trả về dữ liệu không phải JSON (mã {status})")))?;
    if (200..300).contains(&status) {
        Ok(v)
    } else {
        Err(JsonError {
            code: v.get("error").and_then(|m| m.as_str()).map(str::to_string),
            message: v.get("message").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| format!("{url} trả về mã {status}")),
        })
    }
}

/// GETs bytes (a CRL); non-2xx statuses are errors.
pub fn get(url: &str) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err(format!("chỉ hỗ trợ địa chỉ http:// (nhận được '{url}')"));
    }
    let mut resp = ureq::get(url).call().map_err(|e| format!("không tải được {url}: {e}"))?;
    resp.body_mut().with_config().limit(64 << 20).read_to_vec().map_err(|e| format!("không đọc được phản hồi từ {url}: {e}"))
}

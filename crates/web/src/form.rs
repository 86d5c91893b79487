//! Form fields as the `/config` and `/frontend` handlers read them (docs/api.md#form-fields): Go's
//! `Request.FormValue`, except that an urlencoded body is read for every method (cc-backend ignores
//! it on DELETE, so `DELETE /config/users/` with an urlencoded body silently deleted nothing).

use http::header::CONTENT_TYPE;

use crate::{ApiError, Request};

/// The decoded fields of a request: query string first, then the body's fields.
#[derive(Debug, Default)]
pub struct Form {
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    /// Multipart bodies lose to the query (Go collects query values first for them); urlencoded
    /// bodies win over it.
    query_wins: bool,
}

impl Form {
    pub fn parse(request: &Request) -> Result<Form, ApiError> {
        let query = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let mime: Option<mime::Mime> = content_type.parse().ok();
        let (body, query_wins) = match mime {
            Some(mime) if mime.essence_str() == "application/x-www-form-urlencoded" => (
                form_urlencoded::parse(request.body())
                    .into_owned()
                    .collect(),
                false,
            ),
            Some(mime) if mime.essence_str() == "multipart/form-data" => {
                let boundary = mime
                    .get_param(mime::BOUNDARY)
                    .ok_or_else(|| ApiError::bad_request("no multipart boundary"))?;
                (multipart_fields(request.body(), boundary.as_str())?, true)
            }
            _ => (Vec::new(), false),
        };
        Ok(Form {
            query,
            body,
            query_wins,
        })
    }

    /// The field's first value; "" when it is missing, as with Go's `FormValue`.
    pub fn value(&self, name: &str) -> &str {
        let (preferred, other) = if self.query_wins {
            (&self.query, &self.body)
        } else {
            (&self.body, &self.query)
        };
        first_value(preferred, name)
            .or_else(|| first_value(other, name))
            .unwrap_or("")
    }
}

fn first_value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The text fields of a multipart body; file parts are skipped, as Go's `FormValue` skips them.
fn multipart_fields(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let invalid =
        |error: multer::Error| ApiError::bad_request(format!("invalid multipart body: {error}"));
    futures_executor::block_on(async {
        let mut fields = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(invalid)? {
            let is_file = field.file_name().is_some();
            let name = field.name().unwrap_or_default().to_owned();
            let value = field.text().await.map_err(invalid)?;
            if !is_file {
                fields.push((name, value));
            }
        }
        Ok(fields)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, content_type: &str, body: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header(CONTENT_TYPE, content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[test]
    fn urlencoded_bodies_win_over_the_query_for_every_method() {
        for method in ["POST", "PUT", "DELETE"] {
            let form = Form::parse(&request(
                method,
                "/x?username=query&only=q",
                "application/x-www-form-urlencoded",
                "username=body+name&role=api",
            ))
            .unwrap();
            assert_eq!(form.value("username"), "body name", "{method}");
            assert_eq!(form.value("role"), "api");
            assert_eq!(form.value("only"), "q");
            assert_eq!(form.value("missing"), "");
        }
    }

    #[test]
    fn multipart_fields_lose_to_the_query_and_files_are_skipped() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nbody\r\n\
                    --XX\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\nadmin\r\n\
                    --XX\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\r\nfile\r\n\
                    --XX--\r\n";
        let form = Form::parse(&request(
            "DELETE",
            "/x?username=query",
            "multipart/form-data; boundary=XX",
            body,
        ))
        .unwrap();
        assert_eq!(form.value("username"), "query");
        assert_eq!(form.value("role"), "admin");
        assert_eq!(form.value("upload"), "");
    }

    #[test]
    fn broken_multipart_is_a_bad_request() {
        let error = Form::parse(&request(
            "POST",
            "/x",
            "multipart/form-data; boundary=XX",
            "--XX\r\nno headers end",
        ))
        .unwrap_err();
        assert_eq!(error.status, http::StatusCode::BAD_REQUEST);
        assert!(Form::parse(&request("POST", "/x", "multipart/form-data", "")).is_err());
    }

    #[test]
    fn other_bodies_are_not_fields() {
        let form =
            Form::parse(&request("POST", "/x?a=1", "application/json", "{\"a\":2}")).unwrap();
        assert_eq!(form.value("a"), "1");
    }
}

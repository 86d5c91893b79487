//! Handler tests: a native platform on a fresh database and requests with a given session user.

use std::collections::HashMap;

use cc_auth::User;
use cc_web::{Ctx, Handler, NativePlatform, Params, Platform, Response};

pub(super) struct TestPlatform {
    _state: tempfile::TempDir,
    pub platform: NativePlatform,
}

impl TestPlatform {
    pub fn new(variables: &[(&str, &str)]) -> TestPlatform {
        let state = tempfile::tempdir().unwrap();
        let platform = NativePlatform {
            variables: variables
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect::<HashMap<_, _>>(),
            state_dir: state.path().to_owned(),
            clusters_dir: state.path().join("clusters"),
            taggers_dir: state.path().join("taggers"),
        };
        TestPlatform {
            _state: state,
            platform,
        }
    }

    pub fn db(&self) -> Box<dyn cc_store::Sql> {
        self.platform.sql().unwrap()
    }

    /// Calls `handler` for `user` with an urlencoded `body`.
    pub fn call(
        &self,
        handler: Handler,
        user: &User,
        method: &str,
        uri: &str,
        body: &str,
    ) -> Response {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.as_bytes().to_vec())
            .unwrap();
        let ctx = Ctx {
            request: &request,
            params: Params::default(),
            user: Some(user.clone()),
            platform: &self.platform,
        };
        handler(&ctx).unwrap_or_else(cc_web::ApiError::into_response)
    }
}

pub(super) fn session_user(username: &str, roles: &[&str]) -> User {
    User {
        username: username.into(),
        roles: roles.iter().map(|role| role.to_string()).collect(),
        projects: Vec::new(),
    }
}

pub(super) fn text(response: &Response) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

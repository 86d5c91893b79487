//! Logging in and out through the session component, and the session rules every `/config` and
//! `/frontend` route shares (docs/auth.md#sessions), end to end through the runner.

use cc_spin_e2e::{assert_error, send, session_cookie, RunnerConfig, TestApp};

const FORM: &str = "application/x-www-form-urlencoded";

fn app() -> TestApp {
    let app = TestApp::start(RunnerConfig::app);
    app.add_user("boss", "b0ss-pass", &["admin"], &[]);
    app.add_user("alice", "al1ce-pass", &["user"], &[]);
    app
}

#[test]
fn login_sets_a_fresh_http_only_cookie_and_redirects_only_within_the_site() {
    let app = app();
    let reply = app.login_attempt("boss", "b0ss-pass");
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/"));
    let set_cookie = reply.header("set-cookie").unwrap();
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=604800"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let again = app.login("boss", "b0ss-pass");
    assert_ne!(session_cookie(&reply).unwrap(), again, "a new id per login");

    let behind_tls = send(
        "POST",
        &app.runner.url("/login"),
        &[("Content-Type", FORM), ("X-Forwarded-Proto", "https")],
        b"username=boss&password=b0ss-pass&redirect=%2Fmonitoring%2Fjobs%2F",
    );
    assert_eq!(behind_tls.status, 302);
    assert_eq!(behind_tls.header("location"), Some("/monitoring/jobs/"));
    assert!(behind_tls
        .header("set-cookie")
        .unwrap()
        .contains("; Secure"));

    let elsewhere = send(
        "POST",
        &app.runner.url("/login"),
        &[("Content-Type", FORM)],
        b"username=boss&password=b0ss-pass&redirect=https%3A%2F%2Fevil.example%2F",
    );
    assert_eq!(elsewhere.header("location"), Some("/"));
}

#[test]
fn failed_logins_show_the_form_with_the_message_and_no_session() {
    let app = app();
    for (user, password, message) in [
        ("boss", "wrong", "Authentication failed"),
        ("nobody", "b0ss-pass", "Authentication failed"),
        ("", "", "no authenticator applied"),
    ] {
        let reply = app.login_attempt(user, password);
        assert_eq!(reply.status, 401, "{user}");
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(reply.text().contains(message), "{}", reply.text());
        assert!(session_cookie(&reply).is_none());
        assert!(
            !reply.text().contains(password) || password.is_empty(),
            "password echoed"
        );
    }
}

#[test]
fn the_sixth_attempt_in_a_row_is_refused_even_with_the_right_password() {
    let app = app();
    for _ in 0..5 {
        assert_eq!(app.login_attempt("alice", "wrong").status, 401);
    }
    let reply = app.login_attempt("alice", "al1ce-pass");
    assert_eq!(reply.status, 401);
    assert!(reply
        .text()
        .contains("too many login attempts, try again in a few minutes"));
    assert_eq!(
        app.login_attempt("boss", "b0ss-pass").status,
        302,
        "another username has its own bucket"
    );
}

#[test]
fn the_rate_limit_holds_across_two_runner_instances_on_one_state() {
    let first = app();
    let second =
        cc_spin_e2e::Runner::start(&RunnerConfig::app(&first.keys), &first.runner.state_dir);
    let attempt = |url: String| {
        send(
            "POST",
            &url,
            &[("Content-Type", FORM)],
            b"username=alice&password=wrong",
        )
        .status
    };
    for round in 0..5 {
        let url = if round % 2 == 0 {
            first.runner.url("/login")
        } else {
            second.url("/login")
        };
        assert_eq!(attempt(url), 401);
    }
    let refused = send(
        "POST",
        &second.url("/login"),
        &[("Content-Type", FORM)],
        b"username=alice&password=al1ce-pass",
    );
    assert!(
        refused.text().contains("too many login attempts"),
        "{}",
        refused.text()
    );
}

#[test]
fn a_session_works_on_every_instance_until_logout_ends_it_everywhere() {
    let app = app();
    let cookie = app.login("boss", "b0ss-pass");
    let notice = |cookie: &str| {
        app.call_with_cookie("POST", "/config/notice/", cookie, FORM, "new-content=Hello")
    };
    assert_eq!(notice(&cookie).status, 200);
    let logout = app.call_with_cookie("POST", "/logout", &cookie, FORM, "");
    assert_eq!(logout.status, 200);
    assert!(logout.text().contains("Logout successful"));
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = notice(&cookie);
    assert_error(&after, 401, "unauthorized");

    let no_cookie = app.call_with_cookie("POST", "/logout", "other=1", FORM, "");
    assert_eq!(no_cookie.status, 200);
    assert!(no_cookie.header("set-cookie").is_none());
    let forged = app.call_with_cookie("POST", "/logout", "session=abc.def", FORM, "");
    assert_eq!(forged.status, 500);
    assert_eq!(forged.text(), "securecookie: the value is not valid");
}

#[test]
fn session_routes_refuse_missing_forged_tampered_foreign_expired_and_token_credentials() {
    let app = app();
    let cookie = app.login("boss", "b0ss-pass");
    let value = cookie.strip_prefix("session=").unwrap();
    let (id, tag) = value.split_once('.').unwrap();
    let tampered = format!(
        "session={id}.{}{}",
        if tag.starts_with('A') { "B" } else { "A" },
        &tag[1..]
    );
    let other_app = TestApp::start(RunnerConfig::app);
    other_app.add_user("boss", "b0ss-pass", &["admin"], &[]);
    let foreign = other_app.login("boss", "b0ss-pass");
    for route in ["/config/notice/", "/frontend/configuration/"] {
        let call = |cookie: &str| {
            app.call_with_cookie("POST", route, cookie, FORM, "new-content=x&key=k&value=1")
        };
        assert_error(&call(""), 401, "unauthorized");
        assert_error(
            &call("session=garbage"),
            401,
            "securecookie: the value is not valid",
        );
        assert_error(
            &call(&tampered),
            401,
            "securecookie: the value is not valid",
        );
        assert_error(&call(&foreign), 401, "securecookie: the value is not valid");
        let with_token = send(
            "POST",
            &app.runner.url(route),
            &[
                ("Authorization", &format!("Bearer {}", app.admin())),
                ("Content-Type", FORM),
            ],
            b"new-content=x",
        );
        assert_error(&with_token, 401, "unauthorized");
    }

    let short = TestApp::start(|keys| RunnerConfig::app(keys).variable("session_max_age", "1s"));
    short.add_user("boss", "b0ss-pass", &["admin"], &[]);
    let expiring = short.login("boss", "b0ss-pass");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let expired =
        short.call_with_cookie("POST", "/config/notice/", &expiring, FORM, "new-content=x");
    assert_error(&expired, 401, "securecookie: expired timestamp");
    assert!(expired.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn a_non_admin_session_is_no_admin_session() {
    let app = app();
    let cookie = app.login("alice", "al1ce-pass");
    let reply = app.call_with_cookie("POST", "/config/notice/", &cookie, FORM, "new-content=x");
    assert_error(&reply, 401, "unauthorized");
}

#[test]
fn the_notice_is_published_bounded_and_shown_on_the_login_page() {
    let app = app();
    let cookie = app.login("boss", "b0ss-pass");
    let publish = |content: &str| {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("new-content", content)
            .finish();
        app.call_with_cookie("POST", "/config/notice/", &cookie, FORM, &body)
    };
    let reply = publish("Maintenance <Monday> & more");
    assert_eq!(
        (reply.status, reply.text()),
        (200, "Update Notice Content Success")
    );
    let page = cc_spin_e2e::get(&app.runner.url("/login"), &[]);
    assert!(
        page.text()
            .contains("Maintenance &lt;Monday&gt; &amp; more"),
        "{}",
        page.text()
    );
    assert_error(
        &publish(&"x".repeat(10_001)),
        400,
        "notice content exceeds maximum length of 10000 characters",
    );
    let reply = publish("");
    assert_eq!(
        (reply.status, reply.text()),
        (200, "Empty Notice Content Success")
    );
    let page = cc_spin_e2e::get(&app.runner.url("/login"), &[]);
    assert!(!page.text().contains("class=\"notice\""));
}

#[test]
fn jwt_login_turns_an_api_token_into_a_session() {
    let app = app();
    let token = app.token("boss", &["admin"]);
    let by_query = cc_spin_e2e::get(
        &app.runner.url(&format!("/jwt-login?login-token={token}")),
        &[],
    );
    assert_eq!(by_query.status, 302);
    let cookie = session_cookie(&by_query).unwrap();
    let notice = app.call_with_cookie("POST", "/config/notice/", &cookie, FORM, "new-content=x");
    assert_eq!(notice.status, 200);

    let by_header = send(
        "POST",
        &app.runner.url("/jwt-login"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(by_header.status, 302);

    let forged = cc_spin_e2e::get(&app.runner.url("/jwt-login?login-token=a.b.c"), &[]);
    assert_eq!(forged.status, 401);
    assert!(session_cookie(&forged).is_none());
    assert!(
        forged.text().contains("token is malformed")
            || forged.text().contains("token signature is invalid"),
        "{}",
        forged.text()
    );
}

#[test]
fn cross_site_posts_are_refused_before_anything_else() {
    let app = app();
    for path in [
        "/login",
        "/logout",
        "/config/notice/",
        "/frontend/configuration/",
    ] {
        let reply = send(
            "POST",
            &app.runner.url(path),
            &[("Content-Type", FORM), ("Sec-Fetch-Site", "cross-site")],
            b"username=boss&password=b0ss-pass",
        );
        assert_eq!(reply.status, 403, "{path}");
        assert!(session_cookie(&reply).is_none());
    }
}

#[test]
fn the_home_page_needs_a_session() {
    let app = app();
    let anonymous = cc_spin_e2e::get(&app.runner.url("/"), &[]);
    assert_eq!(anonymous.status, 302);
    assert_eq!(anonymous.header("location"), Some("/login"));
    let cookie = app.login("alice", "al1ce-pass");
    let page = cc_spin_e2e::get(&app.runner.url("/"), &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Logged in as <strong>alice</strong>"));
    assert!(
        !page.text().contains("id=\"users\""),
        "no admin sections for users"
    );
    let admin = app.login("boss", "b0ss-pass");
    let page = cc_spin_e2e::get(&app.runner.url("/"), &[("Cookie", &admin)]);
    assert!(page.text().contains("id=\"users\"") && page.text().contains("alice"));
}

#[test]
fn every_config_and_frontend_route_refuses_requests_without_the_right_session() {
    let app = app();
    let user_session = app.login("alice", "al1ce-pass");
    let admin_session = app.login("boss", "b0ss-pass");
    let (id, tag) = admin_session.split_once('.').unwrap();
    let flipped = if tag.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{id}.{flipped}{}", &tag[1..]);
    let token = format!("Bearer {}", app.admin());
    let routes: Vec<_> = cc_openapi::route_tables()
        .into_iter()
        .filter(|(component, _)| matches!(*component, "config" | "frontend"))
        .flat_map(|(component, table)| table.iter().map(move |route| (component, route)))
        .collect();
    assert!(routes.len() >= 11, "{} session routes", routes.len());
    for (component, route) in routes {
        let path = route.path.replace("{id}", "alice");
        let method = route.method.as_str();
        let url = app.runner.url(&path);
        let context = format!("{method} {path}");
        let no_session = send(method, &url, &[("Content-Type", FORM)], b"");
        assert_error(&no_session, 401, "unauthorized");
        for bad in ["session=AAAA.BBBB", tampered.as_str()] {
            let refused = send(method, &url, &[("Cookie", bad)], b"");
            assert_error(&refused, 401, "securecookie: the value is not valid");
        }
        let with_token = send(method, &url, &[("Authorization", &token)], b"");
        assert_eq!(
            with_token.status, 401,
            "{context}: an API token is no session"
        );
        if component == "config" {
            let as_user = send(method, &url, &[("Cookie", &user_session)], b"");
            assert_error(&as_user, 401, "unauthorized");
        }
    }
}

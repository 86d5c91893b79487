//! The home and administration page in a real browser (docs/testing.md#browser-test): headless
//! Chromium logs in, creates a user through the page's form and logs out, and a screenshot of each
//! page is kept. Skipped, with a note, when no Chromium is installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cc_spin_e2e::{workspace_root, RunnerConfig, TestApp};
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};

const CHROMIUM_PATHS: [&str; 3] = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn chromium() -> Option<PathBuf> {
    CHROMIUM_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// Where screenshots go: the checked-in artefacts with `UPDATE_SCREENSHOTS=1`, else target/.
fn screenshot_dir() -> PathBuf {
    let dir = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        workspace_root().join("tests/artifacts/browser")
    } else {
        workspace_root().join("target/browser-screenshots")
    };
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Saves a PNG of the page from its top (the window is tall enough for the whole admin page) and
/// checks that it is one.
fn screenshot(tab: &Tab, dir: &Path, name: &str) {
    tab.evaluate("window.scrollTo(0, 0)", false)
        .expect("scrolled to the top");
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap_or_else(|error| panic!("screenshot {name}: {error}"));
    assert!(
        png.starts_with(PNG_SIGNATURE) && png.len() > 2_000,
        "{name}: no real PNG"
    );
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
}

fn text_of(tab: &Tab, selector: &str) -> String {
    tab.wait_for_element(selector)
        .and_then(|element| element.get_inner_text())
        .unwrap_or_else(|error| panic!("{selector}: {error}"))
}

fn fill(tab: &Tab, selector: &str, value: &str) {
    tab.wait_for_element(selector)
        .and_then(|element| element.click().map(|_| ()))
        .unwrap_or_else(|error| panic!("{selector}: {error}"));
    tab.type_str(value).expect("typing");
}

#[test]
fn an_admin_logs_in_creates_a_user_and_logs_out_in_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium installed (apt-get install chromium)");
        return;
    };
    let app = TestApp::start(RunnerConfig::app);
    app.add_user("boss", "b0ss-pass", &["admin", "api"], &[]);
    let browser = Browser::new(
        LaunchOptions::default_builder()
            .path(Some(chromium))
            .headless(true)
            .sandbox(false)
            .window_size(Some((1280, 2400)))
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .expect("launch options"),
    )
    .expect("Chromium starts");
    let tab = browser.new_tab().expect("a tab");
    let shots = screenshot_dir();

    tab.navigate_to(&app.runner.url("/"))
        .and_then(|tab| tab.wait_until_navigated())
        .expect("home page");
    assert!(tab.get_url().ends_with("/login"), "{}", tab.get_url());
    screenshot(&tab, &shots, "1-login");

    fill(&tab, "#username", "boss");
    fill(&tab, "#password", "b0ss-pass");
    tab.wait_for_element("button[type=submit]")
        .and_then(|button| button.click().map(|_| ()))
        .expect("submit");
    tab.wait_until_navigated().expect("after login");
    assert!(text_of(&tab, "#who").contains("Logged in as boss"));
    assert!(text_of(&tab, "#users").contains("boss"));
    assert!(text_of(&tab, "#taggers").contains("JobClassTagger"));
    assert!(text_of(&tab, "#log").contains("Latest log entries"));
    screenshot(&tab, &shots, "2-admin");

    fill(&tab, "#create-user input[name=username]", "carol");
    fill(&tab, "#create-user input[name=password]", "car0l-pass");
    fill(&tab, "#create-user input[name=name]", "Carol Example");
    tab.evaluate(
        "document.querySelector('#create-user select[name=role]').value = 'user'",
        false,
    )
    .expect("role chosen");
    tab.wait_for_element("#create-user button[type=submit]")
        .and_then(|button| button.click().map(|_| ()))
        .expect("create");
    let row = tab
        .wait_for_element_with_custom_timeout("tr[data-user=carol]", Duration::from_secs(20))
        .expect("the new user is listed");
    let row_text = row.get_inner_text().unwrap();
    assert!(
        row_text.contains("Carol Example") && row_text.contains("user"),
        "{row_text}"
    );
    assert!(text_of(&tab, "#status").contains("User carol successfully created!"));
    screenshot(&tab, &shots, "3-user-created");
    assert_eq!(
        app.count("SELECT count(*) FROM hpc_user WHERE username = 'carol'"),
        1
    );

    tab.wait_for_element("#logout")
        .and_then(|button| button.click().map(|_| ()))
        .expect("logout");
    tab.wait_until_navigated().expect("after logout");
    assert!(text_of(&tab, "h1").contains("Logout successful"));
    screenshot(&tab, &shots, "4-logged-out");

    tab.navigate_to(&app.runner.url("/"))
        .and_then(|tab| tab.wait_until_navigated())
        .expect("home page again");
    assert!(
        tab.get_url().ends_with("/login"),
        "the session is gone: {}",
        tab.get_url()
    );
}

//! A real browser for the web UI's tests: Debian's `chromium`, headless,
//! driven through `chromedriver` (both installed by
//! `scripts/install-browser.sh`) with fantoccini.
//!
//! Without chromedriver the tests that need it say so and skip, unless
//! `WORKWAY_REQUIRE_BROWSER=1` (set by `scripts/test.sh` in CI), where its
//! absence fails them.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

/// Where the driver and the browser are, unless the environment says.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium session, closed (and its driver killed) on drop.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// The page server's origin, `http://127.0.0.1:<port>`.
    pub origin: String,
    _driver: Child,
    _profile: tempfile::TempDir,
}

/// Whether JavaScript runs in the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Pages run their scripts, as most browsers do.
    On,
    /// Scripts are off: every core flow must work without them.
    Off,
}

fn path_of(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

impl Browser {
    /// Start chromedriver and a browser session for the server at
    /// `origin`, `width` pixels wide; `None` (after saying why) when
    /// chromedriver is not installed and the run does not require it.
    pub async fn start(origin: &str, width: u32, script: Script) -> Option<Browser> {
        let driver_path = path_of("WORKWAY_CHROMEDRIVER", CHROMEDRIVER);
        let chromium = path_of("WORKWAY_CHROMIUM", CHROMIUM);
        if !std::path::Path::new(&driver_path).exists() || !std::path::Path::new(&chromium).exists()
        {
            let message = format!(
                "the browser tests need {driver_path} and {chromium}: run scripts/install-browser.sh (as root)"
            );
            if std::env::var("WORKWAY_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("{message}");
            }
            eprintln!("SKIPPED: {message}");
            return None;
        }
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let webdriver = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut prefs = json!({});
        if script == Script::Off {
            prefs = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    format!("--window-size={width},900"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
            }
        });
        let mut capabilities = capabilities;
        if width < 800 {
            // A phone: its viewport and touch, not a narrow desktop window
            // (which desktop Chromium would not make this small).
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": 812, "pixelRatio": 2.0, "touch": true}
            });
        }
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        origin: origin.to_string(),
                        _driver: driver,
                        _profile: profile,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last:?}");
    }

    /// Open `path` on the server.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.origin))
            .await
            .unwrap_or_else(|e| panic!("{path} opens: {e}"));
    }

    /// The path (and query) the browser is on.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Wait until the browser is on `path` (a navigation a click started
    /// may still be in flight when the click returns); panics with the
    /// page it stayed on otherwise.
    pub async fn arrive(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the browser stayed on {} rather than {path}: {}",
            self.path().await,
            self.source().await
        );
    }

    /// Sign in as `email` with `password` through the sign-in page, and
    /// land on the marketplace.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/signin").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/signin'] button[type=submit]")
            .await;
        self.arrive("/marketplace").await;
    }

    /// The element `css` selects, waiting a little for it.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("`{css}` on {}: {e}", self.path_now().await),
        }
    }

    /// The text of the element `css` selects once it contains `part`
    /// (after a form posted back to the same page); panics with the
    /// text it kept otherwise.
    pub async fn text_with(&self, css: &str, part: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                text = element.text().await.unwrap_or_default();
                if text.contains(part) {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never contained {part:?}: {text:?}");
    }

    /// Every element `css` selects now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("elements")
    }

    /// The text of the element `css` selects.
    /// (A page that reloads itself, or a navigation still landing, can
    /// replace the element between finding and reading it: read again.)
    pub async fn text(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..50 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the text of `{css}`: {last:?}")
    }

    /// Type `value` into the field `css` selects, replacing what was there.
    /// (A navigation an earlier click started may replace the page between
    /// finding the field and typing: find it again on the new page.)
    pub async fn fill(&self, css: &str, value: &str) {
        let mut last = None;
        for _ in 0..50 {
            let field = self.find(css).await;
            match field.clear().await {
                Ok(()) => match field.send_keys(value).await {
                    Ok(()) => return,
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("typing into `{css}`: {last:?}");
    }

    /// Click the element `css` selects (found again if a navigation still
    /// landing replaced it first).
    pub async fn click(&self, css: &str) {
        let mut last = None;
        for _ in 0..50 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("clicking `{css}`: {last:?}");
    }

    /// The whole page's source.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    async fn path_now(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// End the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

//! Headless Chromium driven over the DevTools protocol, for page tests that fill in and send
//! forms as a person would: navigate, type into fields, press a form's button, read what the
//! page shows, and take a screenshot. The protocol runs over a pipe (`--remote-debugging-pipe`:
//! JSON messages ended by a NUL byte, commands on the browser's descriptor 3 and answers on 4),
//! so no WebSocket client and no network port are needed. A shell sets the two descriptors up,
//! since the standard library cannot without unsafe code.
//!
//! The page's own Content-Security-Policy forbids scripts; expressions sent over the protocol
//! are DevTools' own and run regardless, exactly like typing into the browser.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::browser::{CHROMIUM, LOCKED_DOWN, assert_installed};

/// One browser with one tab, closed when dropped.
pub struct Tab {
    child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Tab {
    /// Starts headless Chromium with a fresh profile and opens a blank tab.
    pub fn open() -> Tab {
        assert_installed();
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 </dev/null >/dev/null")
            .arg(CHROMIUM)
            .args(LOCKED_DOWN)
            .arg("--remote-debugging-pipe")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium could not be started");
        let commands = child.stdin.take().expect("the command pipe");
        let answers = BufReader::new(child.stdout.take().expect("the answer pipe"));
        let mut tab = Tab {
            child,
            commands,
            answers,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = tab.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = tab.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        tab.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        tab.call("Page.enable", json!({}));
        tab
    }

    /// Sends a command (to the tab once attached) and returns its result; panics on an error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Ok(result) => result,
            Err(error) => panic!("{method} failed: {error}"),
        }
    }

    /// Sends a command and returns its result, or the error chromium answered with.
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("a command");
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .and_then(|()| self.commands.flush())
            .expect("writing to chromium");
        loop {
            let mut raw = Vec::new();
            let read = self
                .answers
                .read_until(0, &mut raw)
                .expect("reading from chromium");
            assert!(read > 0, "chromium closed its DevTools pipe");
            raw.pop();
            let answer: Value = serde_json::from_slice(&raw).expect("a DevTools message");
            if answer["id"].as_u64() != Some(id) {
                continue; // an event, or the answer to something else
            }
            if let Some(error) = answer.get("error") {
                return Err(error.clone());
            }
            return Ok(answer["result"].clone());
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        match self.try_eval(expression) {
            Ok(value) => value,
            Err(error) => panic!("Runtime.evaluate of {expression} failed: {error}"),
        }
    }

    /// Evaluates an expression; an error is chromium's answer (for instance that the page
    /// navigated away while the expression ran). A thrown exception still panics.
    fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let result = self.try_call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression} threw: {exception}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates an expression that only reads the page, asking again (for up to 10 s) while
    /// the page is between two documents.
    fn read(&mut self, expression: &str) -> Value {
        let started = Instant::now();
        loop {
            match self.try_eval(expression) {
                Ok(value) => return value,
                Err(_between_documents) if started.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => panic!("Runtime.evaluate of {expression} failed: {error}"),
            }
        }
    }

    /// The page's address.
    pub fn url(&mut self) -> String {
        self.read("location.href").as_str().unwrap_or("").to_owned()
    }

    /// Goes to `url` and waits for the page to load.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(|tab| tab.url().starts_with(url));
    }

    /// Waits (up to 30 s) until the loaded page satisfies `done`.
    pub fn wait_for(&mut self, mut done: impl FnMut(&mut Tab) -> bool) {
        let started = Instant::now();
        loop {
            let ready = self.read("document.readyState").as_str() == Some("complete");
            if ready && done(self) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the page did not get there within 30 s; it is at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `fields` (input name, value; a check box's value ticks it) into the form
    /// `#form_id`, presses its button, and waits for the next page whose address contains
    /// `next`.
    pub fn submit(&mut self, form_id: &str, fields: &[(&str, &str)], next: &str) {
        let before = self.read("performance.timeOrigin");
        let mut script = format!(
            "(() => {{ const form = document.getElementById({}); ",
            json!(form_id)
        );
        for (name, value) in fields {
            // A check box is ticked by its value; any other field takes the value typed.
            script.push_str(&format!(
                "{{ const name = '[name=' + JSON.stringify({name}) + ']'; \
                   const field = form.querySelector(name); \
                   if (field.type === 'checkbox') {{ \
                     form.querySelector(name + '[value=' + JSON.stringify({value}) + ']').checked = true; \
                   }} else {{ field.value = {value}; }} }} ",
                name = json!(name),
                value = json!(value)
            ));
        }
        script.push_str("form.querySelector('button[type=submit]').click(); return true; })()");
        self.eval(&script);
        self.wait_for(|tab| {
            tab.read("performance.timeOrigin") != before && tab.url().contains(next)
        });
    }

    /// Chooses `files` in the file input with this id, as a person picking them in the
    /// browser's file dialog would (`DOM.setFileInputFiles`); the form sends them when its
    /// button is pressed.
    pub fn choose_files(&mut self, input_id: &str, files: &[&Path]) {
        let document = self.call("DOM.getDocument", json!({"depth": 0}));
        let root = document["root"]["nodeId"]
            .as_u64()
            .expect("a document node");
        let selector = format!("[id={}]", json!(input_id));
        let found = self.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        );
        let node = found["nodeId"].as_u64().unwrap_or(0);
        assert_ne!(node, 0, "no element with id {input_id} on the page");
        let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"files": paths, "nodeId": node}),
        );
    }

    /// The text of the element with this id, if the page has one.
    pub fn text_of(&mut self, id: &str) -> Option<String> {
        self.read(&format!(
            "(document.getElementById({}) || {{}}).innerText ?? null",
            json!(id)
        ))
        .as_str()
        .map(str::to_owned)
    }

    /// A screenshot of the page into `dir/name`, kept as the test's artefact.
    pub fn screenshot(&mut self, dir: &Path, name: &str) -> PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("a base64 screenshot");
        std::fs::create_dir_all(dir).expect("the screenshot directory");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("writing the screenshot");
        path
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

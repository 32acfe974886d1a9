//! Native checks of the session core for issue 9: nothing of a frame is delivered after the
//! page unsubscribed or disconnected from inside a listener (the driver drains outputs one at a
//! time, so a listener runs while the rest of its frame still waits in the queue), and close
//! errors use socketcluster-client's texts.
#![cfg(not(target_arch = "wasm32"))]

use sockline::proto::{
    Command, Config, Event, Output, Session, SessionError, State, SubscribeOptions,
};

fn open_session() -> Session {
    let mut s = Session::new(
        Config {
            url: "ws://127.0.0.1:8000/socketcluster/".into(),
            ..Config::default()
        },
        7,
    );
    s.connect(0.0);
    let g = s.generation();
    s.handle_open(g, 0.0);
    s.handle_token(g, None, 0.0);
    // #handshake has cid 1
    s.handle_text(
        g,
        r#"{"rid":1,"data":{"id":"abc","pingTimeout":30000,"isAuthenticated":false}}"#,
        0.0,
    );
    assert_eq!(s.state(), State::Open);
    while s.poll_output().is_some() {}
    s
}

fn subscribed(s: &mut Session, name: &str) {
    s.subscribe(name, SubscribeOptions::default());
    let mut cid = 0;
    while let Some(o) = s.poll_output() {
        if let Output::Command(Command::Send { text, .. }) = o {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            cid = v["cid"].as_u64().unwrap();
        }
    }
    let g = s.generation();
    s.handle_text(g, &format!(r#"{{"rid":{cid}}}"#), 0.0);
    while s.poll_output().is_some() {}
}

fn publish(channel: &str, n: u32) -> String {
    format!(r##"{{"event":"#publish","data":{{"channel":"{channel}","data":{n}}}}}"##)
}

#[test]
fn unsubscribe_from_a_watcher_drops_the_rest_of_the_frame_for_that_channel() {
    let mut s = open_session();
    subscribed(&mut s, "a");
    subscribed(&mut s, "b");
    let g = s.generation();
    let frame = format!(
        "[{},{},{},{}]",
        publish("a", 1),
        publish("b", 2),
        publish("a", 3),
        publish("a", 4)
    );
    s.handle_text(g, &frame, 0.0);
    // The driver delivers message 1; its watcher unsubscribes.
    assert!(
        matches!(s.poll_output(), Some(Output::Event(Event::Publish { channel, .. })) if channel == "a")
    );
    s.unsubscribe("a", 0.0);
    let mut rest = Vec::new();
    while let Some(o) = s.poll_output() {
        rest.push(o);
    }
    let published: Vec<_> = rest
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Publish { channel, data, .. }) => {
                Some((channel.clone(), data.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(published, vec![("b".to_string(), Some("2".to_string()))]);
    assert!(
        rest.contains(&Output::Event(Event::Unsubscribe("a".into()))),
        "{rest:?}"
    );
}

#[test]
fn disconnect_from_a_listener_drops_the_rest_of_the_frame() {
    let mut s = open_session();
    subscribed(&mut s, "a");
    let g = s.generation();
    let frame = format!(
        r#"[{{"event":"e1","data":1}},{{"event":"e2","data":2}},{},{{"rid":999}}]"#,
        publish("a", 3)
    );
    s.handle_text(g, &frame, 0.0);
    assert!(
        matches!(s.poll_output(), Some(Output::Event(Event::ServerEvent { event, .. })) if event == "e1")
    );
    s.disconnect(4321, "bye", 0.0);
    let mut rest = Vec::new();
    while let Some(o) = s.poll_output() {
        rest.push(o);
    }
    assert!(
        !rest.iter().any(|o| matches!(
            o,
            Output::Event(Event::ServerEvent { .. })
                | Output::Event(Event::Publish { .. })
                | Output::Event(Event::Raw(_))
        )),
        "{rest:?}"
    );
    assert!(rest.contains(&Output::Command(Command::Close {
        gen: g,
        code: 4321,
        reason: "bye".into()
    })));
}

#[test]
fn close_errors_use_the_socketcluster_client_texts() {
    let message = |code: u16, reason: &str| {
        let mut s = open_session();
        let g = s.generation();
        s.handle_close(g, code, reason, 0.0);
        let mut m = None;
        while let Some(o) = s.poll_output() {
            if let Output::Event(Event::Error(SessionError::Protocol { message, .. })) = o {
                m = Some(message);
            }
        }
        m
    };
    // Known codes: the table text, whatever the reason (as socketcluster-client does).
    assert_eq!(
        message(1011, "boom").as_deref(),
        Some("Server encountered an unexpected fatal condition")
    );
    assert_eq!(message(4000, "").as_deref(), Some("Server ping timed out"));
    assert_eq!(
        message(4001, "whatever").as_deref(),
        Some("Client pong timed out")
    );
    assert_eq!(message(1006, "").as_deref(), Some("Socket hung up"));
    // Other codes: the code and the reason.
    assert_eq!(
        message(4444, "bye").as_deref(),
        Some("Socket connection closed with status code 4444 and reason: bye")
    );
    assert_eq!(message(1000, "").as_deref(), None);
    // A close the page started without a reason.
    let mut s = open_session();
    s.disconnect(4321, "", 0.0);
    let mut m = None;
    while let Some(o) = s.poll_output() {
        if let Output::Event(Event::Error(SessionError::Protocol { message, .. })) = o {
            m = Some(message);
        }
    }
    assert_eq!(
        m.as_deref(),
        Some("Socket connection closed with status code 4321")
    );
}

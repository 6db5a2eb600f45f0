//! Native micro-benchmark of the core's per-call work: `cargo run --release --example core_bench`.
use std::time::Instant;

use sieve::core::args::decode_args;
use sieve::core::config::Config;
use sieve::core::event::Env;
use sieve::core::identity::StorageSnapshot;
use sieve::core::page::BufferedPageContext;
use sieve::core::time::Millis;
use sieve::core::{Analytics, Dispatch, EventType};
use sieve::json;

fn main() {
    let config = Config::from_settings(
        "WK",
        &json::parse("{}").unwrap(),
        &json::parse("{}").unwrap(),
    );
    let env = Env {
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36".into(),
        locale: Some("en-US".into()),
        timezone: Some("UTC".into()),
        user_agent_data: json::parse(r#"{"brands":[{"brand":"Chromium","version":"156"}],"mobile":false,"platform":"Linux"}"#).ok(),
    };
    let mut core = Analytics::new(config, env, &StorageSnapshot::default(), [1; 16]);
    let values = r#"["Bench Event",{"i":1,"plan":"pro","revenue":12.5,"tags":["a","b"],"nested":{"k":"v"}},{"__t":"bpc","p":"/p.html","u":"http://localhost:1234/p.html","s":"","t":"T","r":""}]"#;
    {
        let (args, page) = decode_args("sob", &json::parse(values).unwrap());
        let json = core
            .handle_call(
                Millis(1),
                EventType::Track,
                &args,
                &page.unwrap(),
                Dispatch::Return,
            )
            .unwrap();
        println!("event: {} bytes", json.len());
        if std::env::var("SHOW").is_ok() {
            println!("{json}");
        }
    }
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for (label, dispatch) in [
        ("build only", Dispatch::Return),
        ("build + queue", Dispatch::Queue),
    ] {
        let t0 = Instant::now();
        for i in 0..n {
            let (args, page) = decode_args("sob", &json::parse(values).unwrap());
            let page = page.unwrap_or_else(BufferedPageContext::default);
            let _ = core.handle_call(
                Millis(1_795_000_000_000 + i),
                EventType::Track,
                &args,
                &page,
                dispatch,
            );
            while core.poll_storage_write().is_some() {}
        }
        let per = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{label}: {per:.2} µs/call ({} queued)", core.queued());
    }
    // The fast path the driver takes for this call (`track(name, properties)`): the shim
    // sends the page context once, then calls without it.
    let (page_now, without_page) = match json::array_items(values).as_deref() {
        Some([name, properties, page]) => ((*page).to_owned(), format!("[{name},{properties}]")),
        _ => return,
    };
    core.handle_page_context(page_now);
    for (label, dispatch) in [
        ("text path, build only", Dispatch::Return),
        ("text path, build + queue", Dispatch::Queue),
    ] {
        let t0 = Instant::now();
        for i in 0..n {
            let Some((name, properties, page)) =
                sieve::core::args::plain_track("so", &without_page)
            else {
                return;
            };
            let _ = core.handle_track_text(
                Millis(1_795_000_000_000 + i),
                name,
                properties,
                page,
                dispatch,
            );
            while core.poll_storage_write().is_some() {}
        }
        let per = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{label}: {per:.2} µs/call ({} queued)", core.queued());
    }
}

//! Component tests: real Leptos components mounted into a real DOM in headless Chromium (wasm-bindgen-test).
//!
//! Run with `CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test -p simrelay-ui --target wasm32-unknown-unknown`. They check what only a browser can: the DOM the
//! components actually produce for hostile text, the code highlight, and opt-in links.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

use crate::endpoint::Endpoint;
use crate::prefs::Prefs;
use crate::state::AppState;
use crate::views::MessageText;

wasm_bindgen_test_configure!(run_in_browser);

/// Asserts that no script hidden in a test's hostile text ran: each such text's handler would set
/// `document.body.dataset.pwned`.
pub(crate) fn assert_no_script_ran() {
    assert!(document()
        .body()
        .expect("body")
        .dataset()
        .get("pwned")
        .is_none());
}

/// Mounts `view` into a fresh `<div>` with an `AppState` in context and returns the div.
pub(crate) fn mount(prefs: Prefs, view: impl Fn() -> AnyView + 'static) -> web_sys::HtmlElement {
    let document = document();
    let host: web_sys::HtmlElement = document
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let handle = mount_to(host.clone(), move || {
        let app = AppState::new(Endpoint {
            origin: "http://127.0.0.1:1".into(),
            token: None,
        });
        app.prefs.set(prefs.clone());
        provide_context(app);
        view()
    });
    // Keep the view alive for the rest of the test run.
    std::mem::forget(handle);
    host
}

const HOSTILE: &str = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><script>document.body.dataset.pwned='2'</script> code 4711";

#[wasm_bindgen_test]
fn hostile_text_becomes_text_nodes_only() {
    let host = mount(Prefs::default(), || {
        view! { <MessageText text=HOSTILE.to_owned() span=Some([HOSTILE.len() - 4, HOSTILE.len()]) /> }.into_any()
    });
    assert_eq!(host.text_content().unwrap_or_default(), HOSTILE);
    assert_eq!(
        host.query_selector_all("img, script")
            .expect("query")
            .length(),
        0
    );
    let marks = host.query_selector_all("mark.code-hl").expect("query");
    assert_eq!(marks.length(), 1, "only the code is an element");
    assert_eq!(
        marks.get(0).and_then(|m| m.text_content()).as_deref(),
        Some("4711")
    );
    assert_no_script_ran();
}

#[wasm_bindgen_test]
fn links_are_clickable_only_when_opted_in() {
    let text = "Track https://ex.ample/t?a=1 or javascript:alert(1)";
    let off = mount(Prefs::default(), move || {
        view! { <MessageText text=text.to_owned() span=None /> }.into_any()
    });
    assert_eq!(off.query_selector_all("a").expect("query").length(), 0);

    let on = mount(
        Prefs {
            clickable_links: true,
            ..Prefs::default()
        },
        move || view! { <MessageText text=text.to_owned() span=None /> }.into_any(),
    );
    let links = on.query_selector_all("a").expect("query");
    assert_eq!(links.length(), 1, "only the http(s) address is a link");
    let link: web_sys::Element = links.get(0).expect("link").unchecked_into();
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://ex.ample/t?a=1")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer nofollow")
    );
    assert_eq!(on.text_content().unwrap_or_default(), text);
}

/// Mounts `view` like [`mount`] and also hands back the `AppState` it runs with.
pub(crate) fn mount_with_state(
    view: impl Fn() -> AnyView + 'static,
) -> (web_sys::HtmlElement, AppState) {
    let slot = std::rc::Rc::new(std::cell::Cell::new(None::<AppState>));
    let keep = slot.clone();
    let host = mount(Prefs::default(), move || {
        keep.set(Some(expect_context::<AppState>()));
        view()
    });
    (host, slot.get().expect("the view ran"))
}

/// Lets Leptos run the effects a signal change scheduled.
pub(crate) async fn tick() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

pub(crate) fn texts(host: &web_sys::HtmlElement, css: &str) -> Vec<String> {
    let list = host.query_selector_all(css).expect("query");
    (0..list.length())
        .filter_map(|i| list.get(i).and_then(|n| n.text_content()))
        .collect()
}

#[wasm_bindgen_test]
async fn sent_row_follows_the_outbox_forward_only() {
    use crate::outbox::Outgoing;
    use crate::outbox::Progress;
    use crate::views::compose::SentRow;
    let status = |s: &str| Progress {
        id: 5,
        status: s.parse().expect("a status"),
        error: None,
    };
    let item = Outgoing {
        id: 5,
        to: "+15555550100".into(),
        text: "<b>hi</b>".into(),
    };
    let shown = item.clone();
    let (host, app) = mount_with_state(move || view! { <SentRow item=shown.clone() /> }.into_any());
    app.outbox.update(|o| o.add(item, status("queued")));
    app.outbox.update(|o| {
        o.apply(status("sending"));
    });
    tick().await;
    assert_eq!(texts(&host, ".step-on"), ["queued", "sending"]);
    assert_eq!(texts(&host, ".sent-status"), ["sending…"]);
    assert_eq!(
        host.query_selector_all("b").expect("query").length(),
        0,
        "text stays text"
    );
    app.outbox.update(|o| {
        o.apply(status("sent"));
        o.apply(status("queued"));
    });
    tick().await;
    assert_eq!(texts(&host, ".step-on"), ["queued", "sending", "sent"]);
    assert_eq!(texts(&host, ".sent-status"), ["sent"]);
}

#[wasm_bindgen_test]
async fn qr_code_is_an_image_never_markup_in_the_page() {
    use crate::views::settings::lan::LinkCard;
    use simrelay_protocol::PairLink;
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/>\
               <script>document.body.dataset.pwned='qr'</script></svg>";
    let link = PairLink {
        url: "https://192.0.2.2:8731/?pair=abc".into(),
        qr_svg: Some(svg.into()),
    };
    let host = mount(Prefs::default(), move || {
        view! { <LinkCard link=link.clone() /> }.into_any()
    });
    tick().await;
    let images = host.query_selector_all("img.qr").expect("query");
    assert_eq!(images.length(), 1);
    let img: web_sys::Element = images.get(0).expect("img").unchecked_into();
    assert!(img
        .get_attribute("src")
        .unwrap_or_default()
        .starts_with("data:image/svg+xml;charset=utf-8,%3Csvg"));
    assert_eq!(
        host.query_selector_all("svg, script")
            .expect("query")
            .length(),
        0
    );
    assert_eq!(
        texts(&host, ".link-text"),
        ["https://192.0.2.2:8731/?pair=abc"]
    );
    gloo_timers::future::TimeoutFuture::new(200).await;
    assert_no_script_ran();

    // Something that is not an SVG document gives no image at all.
    let bad = PairLink {
        url: "http://x/".into(),
        qr_svg: Some("<img src=x onerror=\"document.body.dataset.pwned='img'\">".into()),
    };
    let host = mount(Prefs::default(), move || {
        view! { <LinkCard link=bad.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(host.query_selector_all("img").expect("query").length(), 0);
}

#[wasm_bindgen_test]
async fn not_this_one_lists_the_alternatives_and_a_failed_choice_says_why() {
    use crate::views::code_actions::{CodeActions, CodeOriginLabel};
    use simrelay_protocol::{CodeAlternative, CodeOrigin};
    let mut message =
        crate::inbox::tests::msg(7, "Security code: 55102288\nVerification code: 482913");
    message.sender = "Nimbus".into();
    message.code = Some("482913".into());
    message.alternatives = vec![CodeAlternative {
        code: "55102288".into(),
        span: [15, 23],
        confidence: 0.6,
    }];
    let shown = message.clone();
    let (host, app) =
        mount_with_state(move || view! { <CodeActions message=shown.clone() /> }.into_any());
    app.inbox.update(|i| {
        i.merge([message.clone()]);
    });
    tick().await;
    assert_eq!(texts(&host, ".no-code-here"), ["No code here"]);
    assert_eq!(
        host.query_selector_all(".alternative")
            .expect("query")
            .length(),
        0,
        "closed until asked"
    );
    let toggle: web_sys::HtmlElement = host
        .query_selector(".not-this")
        .expect("query")
        .expect("the button")
        .unchecked_into();
    assert_eq!(toggle.text_content().as_deref(), Some("Not this one"));
    toggle.click();
    tick().await;
    assert_eq!(texts(&host, ".alternative"), ["55102288"]);
    assert_eq!(texts(&host, ".never-codes"), ["Nimbus never sends codes"]);
    assert_eq!(
        toggle.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    // This test's server does not exist: the choice fails, says why, and changes nothing.
    let alternative: web_sys::HtmlElement = host
        .query_selector(".alternative")
        .expect("query")
        .expect("the alternative")
        .unchecked_into();
    alternative.click();
    for _ in 0..50 {
        if !texts(&host, ".code-action-status").concat().is_empty() {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    let status = texts(&host, ".code-action-status").concat();
    assert!(status.starts_with("Cannot reach SimRelay"), "{status}");
    assert_eq!(
        app.inbox
            .with_untracked(|i| i.messages()[0].code.clone())
            .as_deref(),
        Some("482913")
    );

    // A message with neither a code nor alternatives offers nothing to correct.
    let plain = crate::inbox::tests::msg(8, "See you at 8");
    let host = mount(Prefs::default(), move || {
        view! { <CodeActions message=plain.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(
        host.query_selector_all("button").expect("query").length(),
        0
    );

    // An origin-bound code names its site.
    let mut bound = crate::inbox::tests::msg(9, "660679 is your code\n@github.com #660679");
    bound.code = Some("660679".into());
    bound.origin = Some(CodeOrigin {
        host: "github.com".into(),
        embedded: None,
    });
    let host = mount(Prefs::default(), move || {
        view! { <CodeOriginLabel message=bound.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(texts(&host, ".code-origin"), ["for github.com"]);
}

mod history_window {
    //! The History list's windowing arithmetic: which rows exist for a scroll position.
    use wasm_bindgen_test::wasm_bindgen_test;

    use crate::views::history::window::{
        list_height, reveal, row_top, Window, OVERSCAN, PREFETCH_ROWS, ROW_HEIGHT,
    };

    #[wasm_bindgen_test]
    fn the_rows_under_the_viewport_plus_overscan() {
        // 900 px from row 50 on: rows 50..59 are (partly) visible at 112 px a row.
        let w = Window::for_scroll(50.0 * ROW_HEIGHT, 900.0, ROW_HEIGHT, OVERSCAN);
        assert_eq!(w.start, 50 - OVERSCAN);
        assert_eq!(w.end, 59 + OVERSCAN);
        // Half a row further: row 50 is still partly visible, row 59 too.
        let w = Window::for_scroll(50.5 * ROW_HEIGHT, 900.0, ROW_HEIGHT, 0);
        assert_eq!((w.start, w.end), (50, 59));
        assert_eq!(row_top(50, ROW_HEIGHT), 5600.0);
        assert_eq!(list_height(100_000, ROW_HEIGHT), 11_200_000.0);
    }

    #[wasm_bindgen_test]
    fn bounds_at_the_ends() {
        // The top: no rows before 0, whatever the overscan.
        let w = Window::for_scroll(0.0, 900.0, ROW_HEIGHT, OVERSCAN);
        assert_eq!(w.start, 0);
        // Elastic overscroll above the top and nonsense values count as the top.
        assert_eq!(Window::for_scroll(-300.0, 900.0, ROW_HEIGHT, OVERSCAN), w);
        assert_eq!(Window::for_scroll(f64::NAN, 900.0, ROW_HEIGHT, OVERSCAN), w);
        // The bottom: clamped to the rows held, never start > end.
        let bottom = Window::for_scroll(99_995.0 * ROW_HEIGHT, 900.0, ROW_HEIGHT, OVERSCAN);
        let clamped = bottom.clamp(100_000);
        assert_eq!(clamped.end, 100_000);
        assert_eq!(clamped.start, 99_995 - OVERSCAN);
        assert_eq!(
            Window::for_scroll(1e12, 900.0, ROW_HEIGHT, 8).clamp(10),
            Window { start: 10, end: 10 }
        );
        assert_eq!(
            Window::for_scroll(0.0, 900.0, ROW_HEIGHT, 8).clamp(0),
            Window { start: 0, end: 0 }
        );
        // A hidden viewport (0 px) still renders the row at scrollTop, and a bad row height renders nothing.
        assert_eq!(
            Window::for_scroll(0.0, 0.0, ROW_HEIGHT, 0),
            Window { start: 0, end: 1 }
        );
        assert_eq!(Window::for_scroll(0.0, 900.0, 0.0, 8), Window::default());
    }

    #[wasm_bindgen_test]
    fn the_dom_stays_small_at_any_depth() {
        for top in [0.0, 1e3, 1e5, 5e6, 11_199_000.0] {
            let w = Window::for_scroll(top, 1080.0, ROW_HEIGHT, OVERSCAN).clamp(100_000);
            assert!(w.end - w.start <= 1080 / 112 + 2 + 2 * OVERSCAN, "{w:?}");
        }
    }

    #[wasm_bindgen_test]
    fn the_next_page_is_wanted_near_the_last_row() {
        let w = Window { start: 0, end: 20 };
        assert!(!w.wants_more(200, PREFETCH_ROWS));
        assert!(w.wants_more(20 + PREFETCH_ROWS, PREFETCH_ROWS));
        assert!(
            w.wants_more(0, PREFETCH_ROWS),
            "an empty list wants its first page"
        );
    }

    #[wasm_bindgen_test]
    fn reveal_scrolls_as_little_as_possible() {
        // Row 10 spans 1120..1232; a 500 px viewport at 1000 shows 1000..1500: nothing to do.
        assert_eq!(reveal(10, 1000.0, 500.0, ROW_HEIGHT), None);
        // Above the viewport: its top goes to the top.
        assert_eq!(reveal(5, 1000.0, 500.0, ROW_HEIGHT), Some(560.0));
        // Below: its bottom goes to the bottom.
        assert_eq!(reveal(20, 1000.0, 500.0, ROW_HEIGHT), Some(2352.0 - 500.0));
    }
}

/// A binary message (as the engine describes it, with a hostile content type) for the tests below.
fn binary(id: i64) -> simrelay_protocol::Message {
    use simrelay_protocol::{ContentKind, MessageContent};
    let mut m = crate::inbox::tests::msg(id, "");
    m.content = Some(MessageContent {
        kind: ContentKind::WapPush,
        port: Some(2948),
        source_port: None,
        length: Some(64),
        content_type: Some("<img src=x onerror=\"document.body.dataset.pwned='3'\">".into()),
        description: Some(
            "WAP push (<img src=x onerror=\"document.body.dataset.pwned='3'\">), 64 bytes".into(),
        ),
    });
    m
}

#[wasm_bindgen_test]
async fn binary_data_shows_what_it_is_as_text_never_markup() {
    use crate::views::MessageRow;
    let m = binary(20);
    let description = m.description().map(str::to_owned).expect("described");
    let host = mount(Prefs::default(), move || {
        view! { <MessageRow message=m.clone() /> }.into_any()
    });
    tick().await;
    assert_eq!(
        texts(&host, ".msg-binary"),
        std::slice::from_ref(&description)
    );
    assert_eq!(
        texts(&host, ".msg-text"),
        [description],
        "the description stands in for the text"
    );
    assert_eq!(
        host.query_selector_all("img, script")
            .expect("query")
            .length(),
        0
    );
    assert_no_script_ran();
}

#[wasm_bindgen_test]
async fn a_flash_message_takes_the_live_card_and_is_marked() {
    use crate::views::live::Live;
    let (host, app) = mount_with_state(|| view! { <Live /> }.into_any());
    let mut code = crate::inbox::tests::msg(30, "Your code is 482913");
    code.code = Some("482913".into());
    let mut flash = crate::inbox::tests::msg(31, "Your parcel arrives today");
    flash.flash = true;
    app.inbox.update(|i| {
        i.merge([code.clone()]);
    });
    tick().await;
    let hero = host
        .query_selector(".hero")
        .expect("query")
        .expect("a card");
    assert_eq!(hero.get_attribute("data-id").as_deref(), Some("30"));

    // A newer flash message without a code takes the card over the older code, marked.
    app.inbox.update(|i| {
        i.merge([flash.clone()]);
    });
    tick().await;
    let hero = host
        .query_selector(".hero")
        .expect("query")
        .expect("a card");
    assert_eq!(hero.get_attribute("data-id").as_deref(), Some("31"));
    assert!(hero.class_list().contains("hero-flash"));
    assert_eq!(texts(&host, ".hero .badge-flash"), ["flash"]);
    assert_eq!(texts(&host, ".hero-text"), ["Your parcel arrives today"]);
    // The code is still listed below; a plain message later does not push the flash message out.
    assert_eq!(texts(&host, ".msg-list .code"), ["482913"]);
    app.inbox.update(|i| {
        i.merge([crate::inbox::tests::msg(32, "See you at 8")]);
    });
    tick().await;
    let hero = host
        .query_selector(".hero")
        .expect("query")
        .expect("a card");
    assert_eq!(hero.get_attribute("data-id").as_deref(), Some("31"));
}

#[wasm_bindgen_test]
async fn voicemail_shows_as_a_status_on_the_message_and_the_modem() {
    use crate::views::modems::Modems;
    use crate::views::MessageRow;
    use simrelay_protocol::{Indication, ModemState, ModemStatus, Waiting, WaitingKind};
    let mut m = crate::inbox::tests::msg(40, "");
    m.indications = vec![
        // The coding scheme says "voicemail" without a count; the header says how many: the count wins.
        Indication {
            kind: WaitingKind::Voicemail,
            active: true,
            count: None,
            store: false,
        },
        Indication {
            kind: WaitingKind::Voicemail,
            active: true,
            count: Some(2),
            store: false,
        },
    ];
    let mut cut = crate::inbox::tests::msg(41, "Your code is 4");
    cut.truncated = true;
    let host = mount(Prefs::default(), move || {
        view! {
            <ol>
                <MessageRow message=m.clone() />
                <MessageRow message=cut.clone() />
            </ol>
        }
        .into_any()
    });
    tick().await;
    assert_eq!(texts(&host, ".msg-indication"), ["Voicemail: 2 waiting"]);
    assert_eq!(texts(&host, "[data-id='41'] .badge-warn"), ["truncated"]);

    let (host, app) = mount_with_state(|| view! { <Modems /> }.into_any());
    let mut modem = ModemStatus::new("m1", "/dev/ttyUSB2", ModemState::Connected);
    modem.waiting = vec![Waiting {
        kind: WaitingKind::Voicemail,
        count: Some(2),
    }];
    app.modems.set(vec![modem]);
    tick().await;
    assert_eq!(texts(&host, ".waiting"), ["Voicemail: 2 waiting"]);
}

#[wasm_bindgen_test]
async fn a_locked_sim_asks_for_its_pin_and_a_blocked_one_is_explained() {
    use crate::views::modems::SimLock;
    use simrelay_protocol::ModemState;
    let host = mount(Prefs::default(), || {
        view! { <SimLock id="imei:1".to_owned() state=ModemState::PinRequired attempts_left=Some(2) /> }
            .into_any()
    });
    let text = host.text_content().unwrap_or_default();
    assert!(
        text.contains("SIM PIN") && text.contains("2 attempts left"),
        "{text}"
    );
    let input: web_sys::HtmlInputElement = host
        .query_selector("input")
        .expect("query")
        .expect("a PIN field")
        .unchecked_into();
    assert_eq!(input.type_(), "password");
    // Not a PIN: refused here, with a reason, before anything is sent.
    input.set_value("12a");
    input
        .dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("dispatch");
    let button: web_sys::HtmlElement = host
        .query_selector("button[type=submit]")
        .expect("query")
        .expect("an Unlock button")
        .unchecked_into();
    button.click();
    tick().await;
    let alert = host
        .query_selector("[role=alert]")
        .expect("query")
        .map(|e| e.text_content().unwrap_or_default());
    assert_eq!(alert.as_deref(), Some("A SIM PIN is 4 to 8 digits."));

    let blocked = mount(Prefs::default(), || {
        view! { <SimLock id="imei:1".to_owned() state=ModemState::PukRequired attempts_left=None /> }
            .into_any()
    });
    assert!(blocked.query_selector("input").expect("query").is_none());
    let text = blocked.text_content().unwrap_or_default();
    assert!(text.contains("PUK") && text.contains("phone"), "{text}");
}

#[wasm_bindgen_test]
fn the_health_charts_are_svg_images_that_say_their_numbers() {
    use crate::views::charts::{MessagesChart, SignalChart};
    use simrelay_protocol::{DayCount, SignalSample};
    let at = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .expect("valid")
            .with_timezone(&chrono::Utc)
    };
    let samples = vec![
        SignalSample {
            at: at("2026-12-07T08:00:00Z"),
            dbm: -95,
        },
        SignalSample {
            at: at("2026-12-07T08:01:00Z"),
            dbm: -71,
        },
        SignalSample {
            at: at("2026-12-07T11:00:00Z"),
            dbm: -81,
        },
    ];
    let days: Vec<DayCount> = (1..=7)
        .map(|d| DayCount {
            day: format!("2026-12-0{d}").parse().expect("day"),
            messages: if d == 7 { 2 } else { 0 },
        })
        .collect();
    let host = mount(Prefs::default(), move || {
        let (samples, days) = (samples.clone(), days.clone());
        view! {
            <SignalChart since=at("2026-12-06T12:00:00Z") until=at("2026-12-07T12:00:00Z") samples=samples />
            <MessagesChart days=days />
        }
        .into_any()
    });
    let images = host.query_selector_all("svg[role=img]").expect("query");
    assert_eq!(images.length(), 2);
    let label = |i: u32| {
        images
            .item(i)
            .expect("svg")
            .unchecked_into::<web_sys::Element>()
            .get_attribute("aria-label")
            .unwrap_or_default()
    };
    assert_eq!(
        label(0),
        "Signal over the last 24 hours: 3 samples, from -95 to -71 dBm, latest -81 dBm"
    );
    assert!(
        label(1).starts_with("Messages per day, last 7 days: 2 in all; Tue 1 Dec 0"),
        "{}",
        label(1)
    );
    assert!(label(1).ends_with("Mon 7 Dec 2"), "{}", label(1));
    // Two runs of samples (three hours apart), one bar per day, and each chart's own title for a tooltip.
    assert_eq!(
        host.query_selector_all("svg polyline").expect("q").length(),
        2
    );
    assert_eq!(
        host.query_selector_all("svg rect.chart-bar")
            .expect("q")
            .length(),
        7
    );
    assert_eq!(
        host.query_selector_all("svg > title").expect("q").length(),
        2
    );
}

#[wasm_bindgen_test]
async fn calls_in_history_say_who_called_as_text_by_modem_and_live() {
    use crate::views::history::calls::tests::call;
    use crate::views::history::calls::{CallEntries, CallResults};
    let results = RwSignal::new(CallResults::default());
    let modem = RwSignal::new(String::new());
    let (host, app) = mount_with_state(move || {
        view! { <CallEntries results=results modem=modem.into() load=Callback::new(|_| ()) /> }
            .into_any()
    });
    let hostile = "<img src=x onerror=\"document.body.dataset.pwned='calls'\">";
    let mut rejected = call(2, "b", "+4915112345678");
    rejected.rejected = true;
    results.update(|r| {
        r.append(simrelay_protocol::CallPage {
            calls: vec![call(3, "a", hostile), rejected, call(1, "a", "unknown")],
            next_before: None,
        })
    });
    tick().await;
    assert_eq!(
        texts(&host, ".call-title"),
        [
            format!("Call from {hostile}"),
            "Rejected call from +4915112345678".to_owned(),
            "Call from unknown caller".to_owned(),
        ]
    );
    assert_eq!(host.query_selector_all("img").expect("query").length(), 0);
    assert_no_script_ran();
    assert_eq!(texts(&host, ".result-info"), ["3 calls"]);

    // A call frame puts the call on top; another modem's call is left out while a modem is chosen.
    modem.set("a".into());
    app.calls.update(|c| {
        c.insert(0, call(4, "a", "+15555550100"));
        c.insert(0, call(5, "b", "+15555550199"));
    });
    tick().await;
    // The fetched page is the server's answer for the filter, so it stays; of the live calls only modem a's.
    assert_eq!(
        texts(&host, ".call-title"),
        [
            "Call from +15555550100".to_owned(),
            format!("Call from {hostile}"),
            "Rejected call from +4915112345678".to_owned(),
            "Call from unknown caller".to_owned(),
        ]
    );
    modem.set(String::new());
    tick().await;
    assert_eq!(texts(&host, ".call-title").len(), 5);
    assert_eq!(texts(&host, ".call-title")[0], "Call from +15555550199");
}

#[wasm_bindgen_test]
async fn history_switches_to_calls_and_back() {
    use crate::views::history::History;
    let (host, _app) = mount_with_state(|| view! { <History /> }.into_any());
    tick().await;
    assert!(host
        .query_selector(".history-list")
        .expect("query")
        .is_some());
    let kind: web_sys::HtmlSelectElement = host
        .query_selector("select.history-kind")
        .expect("query")
        .expect("the Show select")
        .unchecked_into();
    kind.set_value("calls");
    kind.dispatch_event(&web_sys::Event::new("change").expect("event"))
        .expect("dispatch");
    tick().await;
    assert!(host.query_selector(".call-list").expect("query").is_some());
    assert!(host
        .query_selector(".history-list")
        .expect("query")
        .is_none());
    let search: web_sys::HtmlInputElement = host
        .query_selector("input[type=search]")
        .expect("query")
        .expect("search")
        .unchecked_into();
    assert!(search.disabled(), "search applies to messages only");
    kind.set_value("messages");
    kind.dispatch_event(&web_sys::Event::new("change").expect("event"))
        .expect("dispatch");
    tick().await;
    assert!(host
        .query_selector(".history-list")
        .expect("query")
        .is_some());
    assert!(!search.disabled());
}

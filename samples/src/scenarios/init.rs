//! One-time initialization: `Once` / `OnceLock` (an edge to every caller), and broken
//! double-checked locking (a flag read outside the lock).

use hb_recorder::sync::{Arc, Mutex, Once, OnceLock};
use hb_recorder::{thread, Shared};

use crate::{ordered, race, EdgeKind, Expect, Scenario, Source};

const SOURCE: Source = Source {
    file: file!(),
    text: include_str!("init.rs"),
};

/// Tasks asking for the lazily initialized value.
const CALLERS: usize = 4;

pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "once-init",
        item: 7,
        summary: "tasks lazily initialize `config` with a Once and `client.name` with a OnceLock, then read them",
        why: "the end of the initialization → every call that found it done (or waited for it) → the read",
        reference: "go-memory-model-patterns.txt, \"4. Once\" and \"2. Lazy Initialization\"; safe-publication.txt, sync.Once",
        expect: Expect::clean(&[
            ordered("config", "once-write", "once-read", EdgeKind::Once),
            ordered("client.name", "oncelock-write", "oncelock-read", EdgeKind::Once),
        ]),
        run: once_init,
        source: SOURCE,
    },
    Scenario {
        name: "double-checked-locking",
        item: 8,
        summary: "tasks check `instance` outside the lock, then initialize it under mutex `mu`",
        why: "the fast-path check reads without the lock: nothing orders it with the write made under the lock",
        reference: "go-memory-model-patterns.txt, \"1. Double-Checked Locking (Broken in Go)\"; go-memory-model-reference.txt, edge cases",
        expect: Expect::races(&[race("instance", "dcl-check", "dcl-init")]),
        run: double_checked_locking,
        source: SOURCE,
    },
];

/// Go's `LazyValue { once sync.Once; value int }`.
struct LazyConfig {
    once: Once,
    value: Shared<u64>,
}

/// Item 7 — lazy initialization with `Once` and `OnceLock`: no race.
///
/// Reproduces `onceHappensBefore` and `LazyValue.Get` of go-memory-model-patterns.txt and
/// `Get()` of sync-primitives-in-practice.txt (a client built once). Each caller runs
/// `config.once.call_once(init)` and reads `config`, then asks a `OnceLock` for the client,
/// whose name the initializer wrote, and reads it.
///
/// Why no race: the caller that runs the initialization reads in program order after its
/// write; every other caller returns from `call_once` / `get_or_init` only once the
/// initialization is done (also when it had to wait for it), and the end of the
/// initialization → that return (the once edge), so its read comes after the write.
pub(crate) fn once_init() {
    let config = Arc::new(LazyConfig {
        once: Once::named("config_once"),
        value: Shared::new("config", 0),
    });
    let client: Arc<OnceLock<Shared<String>>> = Arc::new(OnceLock::named("client"));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (config, client) = (Arc::clone(&config), Arc::clone(&client));
            thread::spawn(move || {
                config.once.call_once(|| config.value.set(42)); // hb:mark(once-write)
                let v = config.value.get(); // hb:mark(once-read)
                let c = client.get_or_init(|| {
                    let name = Shared::new("client.name", String::new());
                    name.set("primary".to_owned()); // hb:mark(oncelock-write)
                    name
                });
                let n = c.with(String::len); // hb:mark(oncelock-read)
                assert_eq!((v, n), (42, 7));
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
}

/// Go's `instance *Singleton` and its `mu sync.Mutex`.
struct Singleton {
    mu: Mutex<()>,
    instance: Shared<Option<u64>>,
}

/// `getBrokenSingleton`: the fast path reads `instance` without the lock.
fn get_broken(s: &Singleton) -> u64 {
    let fast = s.instance.get(); // hb:mark(dcl-check)
    if let Some(v) = fast {
        return v; // fast path: no lock taken, no edge
    }
    let _held = s.mu.lock().unwrap();
    match s.instance.get() {
        Some(v) => v,
        None => {
            s.instance.set(Some(42)); // hb:mark(dcl-init)
            42
        }
    }
}

/// Item 8 — broken double-checked locking (the first check outside the lock): race.
///
/// Reproduces `getBrokenSingleton` of go-memory-model-patterns.txt ("RACE: First check
/// without lock") and the last edge case of go-memory-model-reference.txt. Four tasks
/// call it once each. The instance is returned from the check so that every access outside
/// the lock is that one line.
///
/// Why a race: exactly one task writes `instance`, under `mu`. Every other task reads it
/// first *without* the lock: before that read it has synchronized with nobody (only its
/// spawn, from the parent), so the read is unordered with the write — whether it saw
/// `None` (and went on to lock) or `Some` (and returned). The second check, under `mu`, is
/// ordered after the write by the unlock → lock edge.
pub(crate) fn double_checked_locking() {
    let s = Arc::new(Singleton {
        mu: Mutex::named("mu", ()),
        instance: Shared::new("instance", None),
    });
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let s = Arc::clone(&s);
            thread::spawn(move || get_broken(&s))
        })
        .collect();
    for c in callers {
        assert_eq!(c.join().unwrap(), 42);
    }
}

// The sync-heavy workload of the overhead benchmark, written once and compiled twice:
// against std types and against hb's (see `overhead.rs`, which includes this file in two
// modules with different imports). `bench/workload.c` is the same program in C.

/// Threads of every phase.
pub(crate) const THREADS: usize = 4;

/// Phase 1: a mutex-protected counter, with a tagged read and write of a shared tally in
/// every critical section. Returns the counter.
pub(crate) fn mutex_counter(rounds: usize) -> u64 {
    let counter = Arc::new(Mutex::new(0u64));
    let tally = Arc::new(Shared::new("tally", 0u64));
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let (c, t) = (counter.clone(), tally.clone());
            thread::spawn(move || {
                for _ in 0..rounds {
                    let mut g = c.lock().unwrap();
                    *g += 1;
                    t.set(t.get() + 1);
                    drop(g);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let n = *counter.lock().unwrap();
    assert_eq!(n, tally.get());
    n
}

/// Phase 2: channel ping-pong, two pairs of threads, `rounds` round trips each.
pub(crate) fn ping_pong(rounds: usize) -> u64 {
    let mut hs = Vec::new();
    for _ in 0..THREADS / 2 {
        let (ping_tx, ping_rx) = channel::<u64>();
        let (pong_tx, pong_rx) = channel::<u64>();
        hs.push(thread::spawn(move || {
            let mut sum = 0;
            for r in 0..rounds as u64 {
                ping_tx.send(r).unwrap();
                sum += pong_rx.recv().unwrap();
            }
            sum
        }));
        hs.push(thread::spawn(move || {
            for v in ping_rx.iter() {
                pong_tx.send(v + 1).unwrap();
            }
            0
        }));
    }
    hs.into_iter().map(|h| h.join().unwrap()).sum()
}

fn spin_until(mut done: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while !done() {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Phase 3: atomic flag publication, two producer/consumer pairs: the producer writes a
/// tagged variable and publishes it with a release store; the consumer waits for the flag
/// with acquire loads, reads the variable and acknowledges.
pub(crate) fn flag_publication(rounds: usize) -> u64 {
    let mut hs = Vec::new();
    for _ in 0..THREADS / 2 {
        let data = Arc::new(Shared::new("data", 0u64));
        let flag = Arc::new(AtomicU64::new(0));
        let ack = Arc::new(AtomicU64::new(0));
        let (d, f, a) = (data.clone(), flag.clone(), ack.clone());
        hs.push(thread::spawn(move || {
            for r in 1..=rounds as u64 {
                d.set(r * 3);
                f.store(r, Ordering::Release);
                spin_until(|| a.load(Ordering::Acquire) == r);
            }
            0
        }));
        hs.push(thread::spawn(move || {
            let mut sum = 0;
            for r in 1..=rounds as u64 {
                spin_until(|| flag.load(Ordering::Acquire) == r);
                sum += data.get();
                ack.store(r, Ordering::Release);
            }
            sum
        }));
    }
    hs.into_iter().map(|h| h.join().unwrap()).sum()
}

/// Diagnostic: one thread locking and unlocking an uncontended mutex (two events per
/// round when recording): the cost of recording one event, without contention effects.
pub(crate) fn uncontended(rounds: usize) -> u64 {
    let m = Mutex::new(0u64);
    for _ in 0..rounds {
        *m.lock().unwrap() += 1;
    }
    let n = *m.lock().unwrap();
    n
}

//! Ctrl-C while coldbench writes something that must not be left half-made (a checkout of a
//! ref): the interrupt waits until it is whole, then does what it would have done.
//!
//! [`defer_interrupts`] puts a handler in front of the ones installed for SIGINT, SIGTERM and
//! SIGHUP (which stop servers and exit); while a [`Held`] guard lives, a signal is only recorded,
//! and the last guard to go delivers it to the handler it stood in front of.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The signals an interrupt arrives by.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Live guards.
static HELD: AtomicUsize = AtomicUsize::new(0);
/// A signal that arrived while a guard lived (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);
/// Per signal of [`SIGNALS`] (and a last slot for any other, which tests use): the handler that
/// was installed before ours, and its flags.
static PREVIOUS: [(AtomicUsize, AtomicUsize); 4] = [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; 4];
/// Whether our handler is installed (then [`PREVIOUS`] is set).
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

/// While it lives, an interrupt waits.
#[must_use = "interrupts wait only while the guard lives"]
pub struct Held(());

/// Makes interrupts wait while a [`Held`] lives. Call it after the handlers it should defer to
/// are installed (`stop_servers_on_interrupt`); calling it again changes nothing.
pub fn defer_interrupts() {
    install(&SIGNALS);
}

/// Holds interrupts until the guard is dropped. Without [`defer_interrupts`], holds nothing.
pub fn hold() -> Held {
    HELD.fetch_add(1, Ordering::SeqCst);
    Held(())
}

impl Drop for Held {
    fn drop(&mut self) {
        if HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            let signal = PENDING.swap(0, Ordering::SeqCst);
            if signal != 0 {
                // SAFETY: raise(3) sends a signal to this thread; our handler then passes it on.
                unsafe { libc::raise(signal) };
            }
        }
    }
}

fn install(signals: &[libc::c_int]) {
    if INSTALLED.swap(1, Ordering::SeqCst) == 1 {
        return;
    }
    for &signal in signals {
        chain(signal);
    }
}

/// Puts our handler in front of the one installed for `signal`.
fn chain(signal: libc::c_int) {
    // SAFETY: sigaction with a zeroed action whose handler is an `extern "C" fn(c_int)` that only
    // makes async-signal-safe calls; the old action is read into a zeroed struct.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, &action, &mut old);
        let slot = &PREVIOUS[slot_of(signal)];
        slot.0.store(old.sa_sigaction, Ordering::SeqCst);
        slot.1.store(old.sa_flags as usize, Ordering::SeqCst);
    }
}

fn slot_of(signal: libc::c_int) -> usize {
    SIGNALS.iter().position(|s| *s == signal).unwrap_or(PREVIOUS.len() - 1)
}

extern "C" fn handler(signal: libc::c_int) {
    // Only atomics, sigaction, raise and the previous handler here: all async-signal-safe.
    if HELD.load(Ordering::SeqCst) > 0 {
        PENDING.store(signal, Ordering::SeqCst);
        // The last guard may have gone between the check and the store: then deliver it here.
        if HELD.load(Ordering::SeqCst) > 0 || PENDING.swap(0, Ordering::SeqCst) == 0 {
            return;
        }
    }
    forward(signal);
}

fn forward(signal: libc::c_int) {
    let slot = &PREVIOUS[slot_of(signal)];
    let previous = slot.0.load(Ordering::SeqCst);
    let flags = slot.1.load(Ordering::SeqCst) as libc::c_int;
    if previous == libc::SIG_IGN {
        return;
    }
    if previous == libc::SIG_DFL {
        // SAFETY: back to the default action (ending the process), then the signal again.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
            libc::raise(signal);
        }
        return;
    }
    // SAFETY: `previous` is neither SIG_IGN nor SIG_DFL, so it is the address of a handler that
    // sigaction reported with these flags: an `extern "C"` function of the kind the flags say. A
    // SA_SIGINFO handler gets null info and context (the original ones are gone), which it must
    // tolerate; the handlers this crate installs before ours (`on_interrupt`) take no siginfo.
    unsafe {
        if flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = std::mem::transmute(previous);
            f(signal, std::ptr::null_mut(), std::ptr::null_mut());
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(previous);
            f(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SEEN: AtomicI32 = AtomicI32::new(0);

    extern "C" fn record(signal: libc::c_int) {
        SEEN.store(signal, Ordering::SeqCst);
    }

    #[test]
    fn a_signal_waits_for_the_guard_and_then_reaches_the_handler_before_ours() {
        // SIGUSR2 stands in for Ctrl-C, so that the test process is not interrupted.
        let signal = libc::SIGUSR2;
        // SAFETY: installs `record`, an async-signal-safe handler, as the one to defer to.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
        chain(signal);

        let guard = hold();
        // SAFETY: raise(3) to this thread; the handlers above are installed.
        unsafe { libc::raise(signal) };
        assert_eq!(SEEN.load(Ordering::SeqCst), 0, "held back while the guard lives");
        drop(guard);
        assert_eq!(SEEN.load(Ordering::SeqCst), signal, "delivered when it goes");
        SEEN.store(0, Ordering::SeqCst);
        // SAFETY: as above.
        unsafe { libc::raise(signal) };
        assert_eq!(SEEN.load(Ordering::SeqCst), signal, "without a guard it passes at once");
    }
}

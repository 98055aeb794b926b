//! Ctrl-C while coldbench writes something that must not be left half-made (a checkout of a
//! ref): the interrupt waits until it is whole, then does what it would have done.
//!
//! [`defer_interrupts`] makes the one interrupt handler ([`crate::sys::signals`]: it stops servers
//! and exits) wait while a [`Held`] guard lives: a signal is then only recorded, and the last guard
//! to go delivers it.

pub use crate::sys::signals::{hold, Held};

/// Makes interrupts wait while a [`Held`] lives. Call it after `stop_servers_on_interrupt`;
/// calling it again changes nothing.
pub fn defer_interrupts() {
    crate::sys::signals::defer_interrupts();
}

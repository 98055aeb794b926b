//! What the safe `zmq` crate does not offer: a socket's notification descriptor borrowed for as
//! long as the socket lives, and detaching a socket's monitor.

use std::os::fd::BorrowedFd;

/// The descriptor that signals the socket's events (`ZMQ_FD`), to wait on with `poll`: it only
/// says that something happened, so `ZMQ_EVENTS` is asked before and after each wait.
pub fn socket_fd(socket: &zmq::Socket) -> Result<BorrowedFd<'_>, zmq::Error> {
    let fd = socket.get_fd()?;
    // SAFETY: libzmq owns `ZMQ_FD` and keeps it open until the socket is closed, which cannot
    // happen while `socket` is borrowed (closing is dropping it); a successful call returns an
    // open descriptor, never -1.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Stops the monitor of `socket` (`zmq_socket_monitor` with a null endpoint, which the `zmq` crate
/// cannot pass).
pub fn stop_monitor(socket: &mut zmq::Socket) {
    // SAFETY: `socket` is a live socket (borrowed, so not yet closed); a null endpoint is
    // libzmq's documented way to stop its monitor, which returns at once and keeps no pointer.
    unsafe {
        zmq_sys::zmq_socket_monitor(socket.as_mut_ptr(), std::ptr::null(), 0);
    }
}

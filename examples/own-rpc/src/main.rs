//! A client of an RPC stack of one's own, as cargo-coldbench measures it: it starts the server
//! (this program with `--serve`), makes N calls one after another, checks each answer, and
//! reports the calls' latency percentiles and throughput through `COLDBENCH_METRICS`. The stack
//! here is HTTP/1.1 with keep-alive over loopback TCP (an echo), with the standard library only;
//! put your own client and server in its place.
//!
//! Usage: own-rpc [--calls N] [--payload BYTES]    the client
//!        own-rpc --serve                          the server: prints its port, serves one connection

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coldbench::self_report::{report, Better, Unit};

/// What the server spends on each request before it answers.
const SERVER_DELAY: Duration = Duration::ZERO;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve();
    }
    let option = |name: &str, default: usize| -> Result<usize> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or(format!("{name} needs a value"))?.parse()?),
            None => Ok(default),
        }
    };
    client(option("--calls", 1000)?, option("--payload", 1024)?)
}

/// The server: one connection, one request at a time, each answered with its own body.
fn serve() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    io::stdout().flush()?;
    let (stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(body) = read_message(&mut reader)? {
        std::thread::sleep(SERVER_DELAY);
        write!(writer, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())?;
        writer.write_all(&body)?;
    }
    Ok(())
}

/// The server process, stopped when the client is done or fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(calls: usize, payload: usize) -> Result<()> {
    let mut server = Server(
        Command::new(std::env::current_exe()?).arg("--serve").stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?,
    );
    let mut port = String::new();
    BufReader::new(server.0.stdout.take().ok_or("no stdout")?).read_line(&mut port)?;
    let stream = TcpStream::connect(("127.0.0.1", port.trim().parse::<u16>()?))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);

    let body: Vec<u8> = (0..payload).map(|i| (i % 251) as u8).collect();
    let mut latencies = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let sent = Instant::now();
        write!(writer, "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {payload}\r\n\r\n")?;
        writer.write_all(&body)?;
        let answer = read_message(&mut reader)?.ok_or("the server closed the connection")?;
        latencies.push(sent.elapsed());
        if answer != body {
            return Err("the server answered something else".into());
        }
    }
    let total = start.elapsed();

    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)].as_secs_f64();
    report("latency_p50", percentile(50), Unit::Seconds, Better::Lower)?;
    report("latency_p99", percentile(99), Unit::Seconds, Better::Lower)?;
    report("latency_max", percentile(100), Unit::Seconds, Better::Lower)?;
    report("calls_per_second", calls as f64 / total.as_secs_f64(), Unit::PerSecond, Better::Higher)?;
    println!("{calls} calls of {payload} B: p50 {:.1} µs, p99 {:.1} µs", percentile(50) * 1e6, percentile(99) * 1e6);
    Ok(())
}

/// An HTTP message's body (after its headers; only `Content-Length` matters here), or `None`
/// when the other side closed the connection between messages.
fn read_message(reader: &mut BufReader<TcpStream>) -> Result<Option<Vec<u8>>> {
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(body))
}

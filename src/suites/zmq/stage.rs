//! A pipeline stage: PULL from the previous stage, PUSH every message on to the next.

/// A bound stage.
pub struct Stage {
    input: zmq::Socket,
    output: zmq::Socket,
    /// The endpoint the previous stage connects to.
    pub endpoint: String,
}

impl Stage {
    /// Binds the input and connects the output to `next`.
    pub fn bind(ctx: &zmq::Context, bind: &str, next: &str) -> Result<Stage, String> {
        let input = ctx.socket(zmq::PULL).map_err(|e| e.to_string())?;
        let output = ctx.socket(zmq::PUSH).map_err(|e| e.to_string())?;
        for s in [&input, &output] {
            s.set_linger(0).map_err(|e| e.to_string())?;
            // Bounded waits: the loop below checks in every second even with nothing to do.
            s.set_rcvtimeo(1000).map_err(|e| e.to_string())?;
            s.set_sndtimeo(1000).map_err(|e| e.to_string())?;
        }
        input.bind(bind).map_err(|e| format!("could not bind {bind}: {e}"))?;
        output.connect(next).map_err(|e| format!("could not connect to {next}: {e}"))?;
        let endpoint = crate::suites::role::last_endpoint(&input)?;
        Ok(Stage { input, output, endpoint })
    }

    /// Forwards until the process is killed (or, should the suite have vanished without killing
    /// it, until nothing has arrived for a minute).
    pub fn forward(&self) -> Result<(), String> {
        let mut idle = 0;
        while idle < 60 {
            let frames = match self.input.recv_multipart(0) {
                Ok(frames) => frames,
                Err(zmq::Error::EAGAIN) => {
                    idle += 1;
                    continue;
                }
                Err(e) => return Err(format!("receive: {e}")),
            };
            idle = 0;
            match self.output.send_multipart(frames, 0) {
                Ok(()) | Err(zmq::Error::EAGAIN) => {}
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        Ok(())
    }
}

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
        }
        input.bind(bind).map_err(|e| format!("could not bind {bind}: {e}"))?;
        output.connect(next).map_err(|e| format!("could not connect to {next}: {e}"))?;
        let endpoint = super::last_endpoint(&input)?;
        Ok(Stage { input, output, endpoint })
    }

    /// Forwards until the process is killed.
    pub fn forward(&self) -> Result<(), String> {
        loop {
            let frames = self.input.recv_multipart(0).map_err(|e| format!("receive: {e}"))?;
            self.output.send_multipart(frames, 0).map_err(|e| format!("send: {e}"))?;
        }
    }
}

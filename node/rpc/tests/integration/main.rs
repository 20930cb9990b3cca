//! The integration tests of `verdict-rpc`: a real server on a loopback port, over HTTP
//! and WebSocket.

mod rpc_server;

//! The TP-Link EX/XX web protocol as pure code: no sockets, no clocks. Randomness for AES keys
//! comes from the caller ([`cipher::AesSession::random`] is the one convenience that draws it).

pub mod cipher;
pub mod dm;
pub mod parse;
pub mod rsa;
pub mod signer;

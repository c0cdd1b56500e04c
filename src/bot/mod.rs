//! The bot: the user's own model reads their wallet and market through tools, proposes, and
//! never signs. Every proposal goes to the one review every transaction goes through, and
//! nothing is signed without the user's word there (issue 23).
//!
//! - [`format`]: how a model asks for a tool (its template's format, the grammar, the parser);
//! - [`tools`]: the tools, their schemas and arguments, and what runs them ([`tools::Desk`]);
//! - [`route`]: whether a conversation goes with the tools (when it is about the wallet or
//!   the market);
//! - [`turn`]: one turn of the conversation with tool rounds.
pub mod format;
pub mod route;
pub mod tools;
pub mod turn;

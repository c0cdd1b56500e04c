//! Whether a conversation goes to the model with the tools: when it is about the wallet or the
//! market (the setting `bot.tools = asked`, the default), or always.
//!
//! Why: the tools' descriptions are about 670 tokens at the head of the prompt, and every token
//! the model generates attends to them. That is llama.cpp's own cost of a longer context (on a
//! 2-core CPU with a 0.5B model, about 8% of a turn that calls no tool; `llama-bench` shows the
//! same at those depths), and no amount of care in keybot takes it away while the tools are in
//! the prompt. So a question that is not about money, the wallet or the market goes without
//! them, as a plain chat, and costs nothing extra.
//!
//! The choice is by the user's own words (never the model's): a word of the wallet's or the
//! market's (balance, send, listing, earned…), a token's symbol, or a `0x` address. Once a
//! conversation has asked, it keeps the tools for its later questions ("and yesterday?"), so
//! its prompt's head, and the KV cache that holds it, stay the same. A question that needs the
//! tools but names none of these goes without them; `bot.tools = always` is for that.
use crate::chat::template::Message;

/// The words that make a question the wallet's or the market's, lowercase.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    // the wallet
    "wallet", "wallets", "balance", "balances", "account", "accounts", "address", "addresses",
    "fund", "funds", "funded", "money", "cash", "coin", "coins", "crypto", "eth", "ether", "wei",
    "gwei", "token", "tokens", "gas", "fee", "fees", "network", "networks", "chain", "chains",
    "transaction", "transactions", "tx", "txs", "transfer", "transfers", "transferred", "send",
    "sends", "sent", "sending", "pay", "pays", "paid", "paying", "payment", "payments", "owe",
    "owes", "owed", "receive", "received", "receiving", "deposit", "deposits", "deposited",
    "spend", "spent", "afford", "dollar", "dollars", "usd", "hold", "holding", "holdings", "own",
    "assets", "portfolio", "worth",
    // the market and the sale vault
    "market", "markets", "marketplace", "listing", "listings", "listed", "sell", "sells",
    "selling", "sold", "sale", "sales", "buy", "buys", "buying", "bought", "purchase", "purchases",
    "purchased", "price", "prices", "priced", "reprice", "delist", "deliver", "delivered",
    "delivery", "deliveries", "challenge", "refund", "refunds", "refunded", "withdraw",
    "withdrawal", "withdrawn", "withdrew", "earn", "earns", "earned", "earning", "earnings",
    "income", "revenue", "profit", "profits", "cost", "costs", "cheap", "cheaper", "cheapest",
    "expensive", "vault", "consent", "consented", "redaction", "redacted",
];

/// What a question about one's own money says without naming it ("how much do I have?").
const PHRASES: &[&str] = &["how much", "do i have", "have i got", "i have left"];

/// Whether `messages` go with the tools: a user's message asks for them (see the module), or
/// the conversation has called one already. `symbols`: the configured tokens' symbols.
pub fn asks_for_tools(messages: &[Message], symbols: &[String]) -> bool {
    messages.iter().any(|m| {
        m.role == "tool"
            || !m.tool_calls.is_empty()
            || (m.role == "user" && names_the_wallet(&m.content, symbols))
    })
}

/// A phrase of [`PHRASES`], a word of [`WORDS`], a symbol of `symbols`, or a `0x` address or
/// hash in `text`.
fn names_the_wallet(text: &str, symbols: &[String]) -> bool {
    let lower = text.to_lowercase();
    let spaced = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    if PHRASES.iter().any(|p| spaced.contains(p)) {
        return true;
    }
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            let lower = w.to_lowercase();
            WORDS.contains(&lower.as_str())
                || symbols.iter().any(|s| s.eq_ignore_ascii_case(w))
                || is_hex_address(w)
        })
}

/// `0x` and at least four hex digits: an address, a hash, or the start of one.
fn is_hex_address(word: &str) -> bool {
    word.strip_prefix("0x")
        .or_else(|| word.strip_prefix("0X"))
        .is_some_and(|h| h.len() >= 4 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(q: &str) -> bool {
        asks_for_tools(&[Message::user(q)], &["tUSD".to_owned()])
    }

    /// Every question of `scripts/bench-bot.sh` (the bot's benchmark), and the issue's own.
    #[test]
    fn the_wallets_and_the_markets_questions_go_with_the_tools() {
        let friend = "0x2546BcD3c84621e976D8185a91A922aE77ECEc30";
        let questions = [
            "What are my balances?",
            "How much ETH do I have?",
            "How many tUSD do I hold?",
            "What is in my wallet?",
            "Show my account balances.",
            "Do I have enough ETH to pay fees?",
            "What did I send recently?",
            "Show my recent transactions.",
            "Did I receive anything lately?",
            "List my last 3 transfers.",
            "What is my transaction history?",
            "What is in my sale vault?",
            "Which vault items have I consented to sell?",
            "How many items are in my vault?",
            "What did the redaction remove from my vault items?",
            "List my vault items.",
            "Is there anything about gardening for under 2 tUSD?",
            "What is for sale on the market?",
            "Show listings cheaper than 1 tUSD.",
            "Find listings about cooking.",
            "Which data is on the market?",
            "Browse the market.",
            "Which network am I on?",
            "What tokens are configured?",
            "What is the chain id of my network?",
            "Pay 0.5 ETH to the address I gave you",
            "Transfer 2 tUSD to Alice",
            "What did I earn selling data?",
            "Which of my listings sold?",
            "Buy listing 1 for at most 2 tUSD.",
            "Change the price of my listing 1 to 3 tUSD.",
            "Take my listing 1 off the market.",
            "Withdraw my tUSD earnings.",
            "what did I earn this week?",
            "send Alice the 5 tUSD I owe her",
            "WHAT'S MY BALANCE",
            "how much do I have?",
            "How   much is left?",
            "What do I own?",
            "Wie viel ETH habe ich?",
        ];
        for q in questions {
            assert!(asks(q), "{q}");
        }
        assert!(asks(&format!("what is {friend}?")));
        assert!(asks(friend));
    }

    #[test]
    fn ordinary_questions_go_without_them() {
        for q in [
            "Write a long paragraph about the sea.",
            "Now a long paragraph about the mountains.",
            "Explain Rust's lifetimes with an example.",
            "What is the capital of France?",
            "Summarise this: the quick brown fox jumps over the lazy dog.",
            "Translate 'good morning' into German.",
            "Write a haiku about autumn leaves.",
            "What is 0x1F in decimal?",
            "",
        ] {
            assert!(!asks(q), "{q}");
        }
        // A word inside another is not that word; a symbol must be the whole word.
        assert!(!asks("the Ethernet cable and a tokenizer"));
    }

    #[test]
    fn a_conversation_that_asked_keeps_the_tools() {
        let symbols = ["tUSD".to_owned()];
        let asked = vec![
            Message::user("What are my balances?"),
            Message::new("assistant", "You hold 5 tUSD."),
            Message::user("And yesterday?"),
        ];
        assert!(asks_for_tools(&asked, &symbols));
        let called = vec![
            Message::tool_calls(
                String::new(),
                [("balances".to_owned(), serde_json::json!({}))],
            ),
            Message::user("thanks, and a poem now"),
        ];
        assert!(asks_for_tools(&called, &symbols));
        // The model's words do not ask: only the user's.
        let answered = vec![
            Message::user("Write a poem."),
            Message::new("assistant", "Your wallet sings of ETH."),
            Message::user("Another one."),
        ];
        assert!(!asks_for_tools(&answered, &symbols));
        // A system prompt is not a question either.
        assert!(!asks_for_tools(
            &[
                Message::new("system", "You help with a wallet."),
                Message::user("Hi!")
            ],
            &symbols
        ));
    }
}

pub mod tx;

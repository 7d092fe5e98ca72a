"""Interest summaries from watched-video topic labels (the product's second task)."""

"""Fine-tuning a cross-encoder on a golden set, judged against its base model, and the background job
that runs it for the Models page.

May import: everything below it, the workspace and evaluate; never cli.
"""

from llmrec_train.cli import main

main()

from vizhub_pipeline.cli import main

main()

import DopsyncCLI

await Dopsync.runMain()

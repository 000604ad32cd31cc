import SluiceCore

Sluice.main(Sluice.processArguments)

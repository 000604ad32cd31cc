import SluiceCore

Sluice.main(Array(CommandLine.arguments.dropFirst()))

"""iOS formats: IPA and .app bundles, property lists, Mach-O, code signatures, privacy manifests."""

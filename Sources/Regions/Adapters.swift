public import DopsyncConfig

/// Every region the gateway can talk to. A new region is one line here, one
/// adapter folder beside this file and one folder in `regions/`.
public let regionAdapters: [any RegionAdapter.Type] = [
    OmskAdapter.self,
    LeningradAdapter.self,
    KemerovoAdapter.self,
    KrasnoyarskAdapter.self,
]

/// The adapter type of a region by its configuration name.
public func adapterType(named name: String) -> (any RegionAdapter.Type)? {
    regionAdapters.first { $0.descriptor.name == name }
}

/// The settings each region accepts, for reading the configuration: its
/// adapter's own and those every region has.
public var regionSettingSpecs: [(name: String, settings: [SettingSpec])] {
    regionAdapters.map { ($0.descriptor.name, $0.descriptor.settings + RegionDescriptor.commonSettings) }
}

/// A provider of programs, as nested in a program.
public struct Provider: Sendable, Hashable {
    public var inn: String
    public var ogrn: String?
    public var name: String
    public var kind: ProviderKind

    public init(inn: String, ogrn: String?, name: String, kind: ProviderKind) {
        self.inn = inn; self.ogrn = ogrn; self.name = name; self.kind = kind
    }
}

/// A municipality by its ОКТМО code; the name is `nil` where the region sends only the code.
public struct Municipality: Sendable, Hashable {
    public var oktmo: String
    public var name: String?

    public init(oktmo: String, name: String?) { self.oktmo = oktmo; self.name = name }
}

/// The child inside a certificate. Personal data: never log it.
public struct Child: Sendable, Hashable {
    public var sourceID: String
    public var lastName: String
    public var firstName: String
    public var middleName: String?
    public var birthDate: LocalDate
    public var snils: Snils?

    public init(sourceID: String, lastName: String, firstName: String, middleName: String?,
                birthDate: LocalDate, snils: Snils?) {
        self.sourceID = sourceID; self.lastName = lastName; self.firstName = firstName
        self.middleName = middleName; self.birthDate = birthDate; self.snils = snils
    }
}

/// What every record carries about where it came from.
public struct SourceMeta: Sendable, Hashable {
    /// The region's two-digit code (`"55"`).
    public var region: String
    /// The record's id in its region.
    public var sourceID: String
    public var updatedAt: Timestamp?
    /// The region's version as text, or `nil` where the region has none.
    public var version: String?
    public var deleted: Bool

    public init(region: String, sourceID: String, updatedAt: Timestamp?, version: String?, deleted: Bool = false) {
        self.region = region; self.sourceID = sourceID; self.updatedAt = updatedAt
        self.version = version; self.deleted = deleted
    }
}

/// A program of supplementary education in the catalogue.
public struct Program: Sendable, Hashable {
    public var meta: SourceMeta
    public var title: String
    public var description: String
    public var provider: Provider
    public var direction: Direction
    public var ageMin: Int
    public var ageMax: Int
    public var hoursTotal: Int?
    public var priceMonth: Kopecks
    public var registry: Registry
    public var municipality: Municipality
    public var format: ProgramFormat
    public var status: ProgramStatus
    public var startsOn: LocalDate?
    public var endsOn: LocalDate?

    public init(meta: SourceMeta, title: String, description: String, provider: Provider, direction: Direction,
                ageMin: Int, ageMax: Int, hoursTotal: Int?, priceMonth: Kopecks, registry: Registry,
                municipality: Municipality, format: ProgramFormat, status: ProgramStatus,
                startsOn: LocalDate?, endsOn: LocalDate?) {
        self.meta = meta; self.title = title; self.description = description; self.provider = provider
        self.direction = direction; self.ageMin = ageMin; self.ageMax = ageMax; self.hoursTotal = hoursTotal
        self.priceMonth = priceMonth; self.registry = registry; self.municipality = municipality
        self.format = format; self.status = status; self.startsOn = startsOn; self.endsOn = endsOn
    }
}

/// A child's funding certificate.
public struct Certificate: Sendable, Hashable {
    public var meta: SourceMeta
    public var number: String
    public var type: CertificateType
    public var child: Child
    public var nominal: Kopecks
    public var balance: Kopecks
    public var year: Int
    public var status: CertificateStatus
    public var municipality: Municipality
    public var issuedAt: Timestamp?

    public init(meta: SourceMeta, number: String, type: CertificateType, child: Child, nominal: Kopecks,
                balance: Kopecks, year: Int, status: CertificateStatus, municipality: Municipality,
                issuedAt: Timestamp?) {
        self.meta = meta; self.number = number; self.type = type; self.child = child; self.nominal = nominal
        self.balance = balance; self.year = year; self.status = status; self.municipality = municipality
        self.issuedAt = issuedAt
    }
}

extension Certificate {
    /// The ages, on the day of issue, at which a child holds a financing
    /// certificate: it is valid until the 18th birthday, and a child younger
    /// than 5 gets none (regions/README.md, rules every system follows).
    public static let financingAges = 5..<18

    /// The certificate, when it keeps its own age rule; a financing
    /// certificate issued to a child outside `financingAges` breaks it (the
    /// error tells which bound, never the birth date or the age).
    public func checkedAgeAtIssue() throws(ValueError) -> Certificate {
        guard type == .financing, let issuedAt else { return self }
        // The day of issue is the region's: from the UTC day to the next one
        // (Russia's offsets are all ahead of UTC). Only an age outside the
        // bounds on either day breaks the rule.
        let utcDay = issuedAt.local(offsetSeconds: 0).date
        let nextDay = LocalDate(daysSinceEpoch: utcDay.daysSinceEpoch + 1)
        if nextDay.years(since: child.birthDate) < Self.financingAges.lowerBound {
            throw ValueError("a financing certificate issued to a child younger than 5")
        }
        if utcDay.years(since: child.birthDate) >= Self.financingAges.upperBound {
            throw ValueError("a financing certificate issued after the child's 18th birthday")
        }
        return self
    }
}

/// A child's enrollment on a program, paid from the certificate.
public struct Contract: Sendable, Hashable {
    public var meta: SourceMeta
    /// `nil` until the certificate the region names by internal id is known.
    public var certificateNumber: String?
    public var programSourceID: String
    public var startsOn: LocalDate
    public var endsOn: LocalDate
    public var priceMonth: Kopecks
    public var status: ContractStatus

    public init(meta: SourceMeta, certificateNumber: String?, programSourceID: String, startsOn: LocalDate,
                endsOn: LocalDate, priceMonth: Kopecks, status: ContractStatus) {
        self.meta = meta; self.certificateNumber = certificateNumber; self.programSourceID = programSourceID
        self.startsOn = startsOn; self.endsOn = endsOn; self.priceMonth = priceMonth; self.status = status
    }
}

/// The monthly debit for one contract. Immutable once published.
public struct Charge: Sendable, Hashable {
    public var meta: SourceMeta
    public var contractSourceID: String
    public var month: YearMonth
    public var price: Kopecks
    public var certificatePart: Kopecks
    public var parentPart: Kopecks

    public init(meta: SourceMeta, contractSourceID: String, month: YearMonth, price: Kopecks,
                certificatePart: Kopecks, parentPart: Kopecks) {
        self.meta = meta; self.contractSourceID = contractSourceID; self.month = month; self.price = price
        self.certificatePart = certificatePart; self.parentPart = parentPart
    }
}

/// Any normalized record.
public enum Record: Sendable, Hashable {
    case program(Program)
    case certificate(Certificate)
    case contract(Contract)
    case charge(Charge)

    public var collection: CollectionName {
        switch self {
        case .program: .programs
        case .certificate: .certificates
        case .contract: .contracts
        case .charge: .charges
        }
    }

    public var meta: SourceMeta {
        get {
            switch self {
            case let .program(r): r.meta
            case let .certificate(r): r.meta
            case let .contract(r): r.meta
            case let .charge(r): r.meta
            }
        }
        set {
            switch self {
            case var .program(r): r.meta = newValue; self = .program(r)
            case var .certificate(r): r.meta = newValue; self = .certificate(r)
            case var .contract(r): r.meta = newValue; self = .contract(r)
            case var .charge(r): r.meta = newValue; self = .charge(r)
            }
        }
    }
}

public import DopsyncModel

/// Makes a region's world from a seed: realistic, consistent data (balances
/// equal the nominal less the certificate parts of the charges, each charge
/// splits its price, every reference resolves), plus a few deliberately bad
/// records that nothing references.
struct Generator {
    let code: String
    let scheme: IDScheme
    var random: SeededRandom

    init(code: String, scheme: IDScheme, seed: UInt64) {
        self.code = code
        self.scheme = scheme
        random = SeededRandom(seed: seed ^ UInt64(code)!)
    }

    /// 2026-09-01T00:00:00Z: generated records are stamped up to two days before it.
    static let base = try! Timestamp(iso: "2026-09-01T00:00:00Z").seconds

    static let lastNames = [("Иванов", "Иванова"), ("Смирнов", "Смирнова"), ("Кузнецов", "Кузнецова"), ("Попов", "Попова"),
                            ("Соколов", "Соколова"), ("Лебедев", "Лебедева"), ("Козлов", "Козлова"), ("Новиков", "Новикова"),
                            ("Морозов", "Морозова"), ("Петров-Водкин", "Петрова-Водкина"), ("Волков", "Волкова"),
                            ("Алиев", "Алиева"), ("Мамедов", "Мамедова"), ("Ким", "Ким")]
    static let boys = ["Александр", "Михаил", "Максим", "Артём", "Иван", "Дмитрий", "Лев", "Марк", "Али", "Тимур"]
    static let girls = ["Анна", "Мария", "Софья", "Алиса", "Виктория", "Полина", "Ева", "Варвара", "Лейла", "Дарья"]
    static let fathers = ["Александров", "Сергеев", "Андреев", "Дмитриев", "Игорев", "Олегов", "Павлов"]
    static let titles = ["Робототехника", "Юный эколог", "Футбол", "Шахматы", "Хореография", "Краеведение",
                         "Волонтёрский клуб", "3D-моделирование", "Вокальная студия", "Туристический клуб",
                         "Программирование на Python", "Астрономия", "Плавание", "Живопись", "Журналистика"]
    static let providers: [(String, String, String, ProviderKind)] = [
        ("ООО «Роботы»", "04000000", "1024000000000", .private),
        ("МБУ ДО «Дом творчества»", "04000011", "1024000000011", .municipal),
        ("ГБУ ДО «Центр развития»", "04000022", "1024000000022", .state),
        ("ИП Петров Пётр Петрович", "0400003300", "304000000003300", .individual),
        ("АНО «Спорт детям»", "04000044", "1024000000044", .private),
    ]
    static let municipalities = ["Городской округ", "Центральный район", "Северный район", "Южный район"]

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }

    func municipality(_ i: Int) -> Municipality {
        Municipality(oktmo: "\(code)70\(i)000", name: Self.municipalities[i % Self.municipalities.count])
    }

    mutating func stamp() -> Timestamp { Timestamp(seconds: Self.base - Int64(int(0..<3000)) * 60) }

    mutating func program(_ i: Int) -> Program {
        let provider = Self.providers[int(0..<Self.providers.count)]
        let direction = Direction.allCases[i % 6]
        let registry: Registry = [.certified, .certified, .certified, .significant, .municipal, .paid][int(0..<6)]
        let price = registry == .municipal ? Kopecks(0) : Kopecks(Int64(int(5..<31)) * 10_000 + Int64(int(0..<2)) * 50)
        let age = int(5..<13)
        return Program(
            meta: SourceMeta(region: code, sourceID: scheme.program(i), updatedAt: stamp(), version: "1"),
            title: Self.titles[i % Self.titles.count], description: i % 3 == 0 ? "" : "Занятия для детей от \(age) лет",
            provider: Provider(inn: code + provider.1, ogrn: provider.2.prefix(3) + code + provider.2.dropFirst(5),
                               name: provider.0, kind: provider.3),
            direction: direction, ageMin: age, ageMax: min(18, age + int(2..<7)), hoursTotal: [72, 108, 144, 216][int(0..<4)],
            priceMonth: price, registry: registry, municipality: municipality(int(0..<4)), format: [.offline, .offline, .online, .mixed][int(0..<4)],
            status: chance(90) ? .published : (chance(50) ? .draft : .archived),
            startsOn: try! LocalDate(iso: "2026-09-01"), endsOn: try! LocalDate(iso: "2027-05-31"))
    }

    mutating func snils() -> Snils {
        var digits: [UInt8] = (0..<9).map { _ in UInt8(int(0..<10)) }
        digits[0] = UInt8(int(1..<10))
        let check = Snils.checksum(digits)
        let text = digits.map { String($0) }.joined() + (check < 10 ? "0" : "") + String(check)
        return try! Snils(text)
    }

    mutating func certificate(_ i: Int) -> Certificate {
        let girl = chance(50)
        let last = Self.lastNames[int(0..<Self.lastNames.count)]
        let first = girl ? Self.girls[int(0..<10)] : Self.boys[int(0..<10)]
        var middle: String? = Self.fathers[int(0..<Self.fathers.count)] + (girl ? "на" : "ич")
        if chance(8) { middle = nil }
        if chance(3) { middle = girl ? "Гасан кызы" : "Гасан оглы" }
        let financing = chance(85)
        let nominal = financing ? Kopecks(2_400_000) : Kopecks(0)
        // Aged 5 to 17 on the day of issue (July 23 to August 28, 2026).
        let birth = LocalDate(daysSinceEpoch: (try! LocalDate(iso: "2009-09-02")).daysSinceEpoch + int(0..<(12 * 365 - 45)))
        let number = scheme.certificateNumber(i)
        return Certificate(
            meta: SourceMeta(region: code, sourceID: scheme.certificate(i, number), updatedAt: stamp(), version: "1"),
            number: number, type: financing ? .financing : .accounting,
            child: Child(sourceID: scheme.child(i), lastName: girl ? last.1 : last.0, firstName: first, middleName: middle,
                         birthDate: birth, snils: chance(85) ? snils() : nil),
            nominal: nominal, balance: nominal, year: 2026,
            status: chance(90) ? .active : (chance(50) ? .suspended : .closed),
            municipality: municipality(int(0..<4)),
            issuedAt: Timestamp(seconds: Self.base - 86400 * Int64(int(3..<40))))
    }

    /// The whole world at a scale.
    mutating func generate(scale: Int, invalidRecords: Int) -> RegionData.WorldState {
        var w = RegionData.WorldState(clock: Self.base + 3600, random: SeededRandom(seed: random.next()))
        var programs = SimCollection(), certificates = SimCollection(), contracts = SimCollection(), charges = SimCollection()
        let programCount = max(20, scale / 20)
        var programList: [Program] = []
        // Contracts choose among the first `programCount`; the few after them
        // are referenced by nothing, so that bad ones can be among them.
        for i in 0..<(programCount + invalidRecords) { programList.append(program(i)) }
        var certificateList: [Certificate] = []
        for i in 0..<scale { certificateList.append(certificate(i)) }

        var contractList: [Contract] = []
        var chargeList: [Charge] = []
        var referencedPrograms = Set<Int>()
        var contractIndex = 0, chargeIndex = 0
        for ci in certificateList.indices {
            let contractsHere = [0, 1, 1, 1, 2][int(0..<5)]
            for _ in 0..<contractsHere {
                let pi = int(0..<programCount)
                let p = programList[pi]
                referencedPrograms.insert(pi)
                var cert = certificateList[ci]
                let status: ContractStatus = chance(85) ? .active : [.application, .terminated, .completed][int(0..<3)]
                let contract = Contract(
                    meta: SourceMeta(region: code, sourceID: scheme.contract(contractIndex), updatedAt: stamp(), version: "1"),
                    certificateNumber: cert.number, programSourceID: p.meta.sourceID,
                    startsOn: try! LocalDate(iso: "2026-09-01"), endsOn: try! LocalDate(iso: "2027-05-31"),
                    priceMonth: p.priceMonth, status: status)
                contractIndex += 1
                contractList.append(contract)
                guard cert.type == .financing, status != .application else { continue }
                for month in ["2026-09", "2026-10"] {
                    // The month's price may be reduced pro rata to attendance.
                    let price = chance(80) ? p.priceMonth : Kopecks(p.priceMonth.value * Int64(int(50..<100)) / 100)
                    let fromCertificate = min(cert.balance, price)
                    cert.balance = cert.balance - fromCertificate
                    chargeList.append(Charge(
                        meta: SourceMeta(region: code, sourceID: scheme.charge(chargeIndex), updatedAt: stamp(), version: nil),
                        contractSourceID: contract.meta.sourceID, month: try! YearMonth(iso: month), price: price,
                        certificatePart: fromCertificate, parentPart: price - fromCertificate))
                    chargeIndex += 1
                }
                certificateList[ci] = cert
            }
        }
        // Deliberately bad records: ones nothing references.
        let numbersInUse = Set(contractList.compactMap(\.certificateNumber))
        let contractsCharged = Set(chargeList.map(\.contractSourceID))
        func defects<T>(_ list: [T], _ free: (T) -> Bool) -> Set<Int> {
            Set(list.indices.filter { free(list[$0]) }.suffix(invalidRecords))
        }
        let badPrograms = defects(programList.indices.map { $0 }) { !referencedPrograms.contains($0) }
        let badCertificates = defects(certificateList) { !numbersInUse.contains($0.number) }
        let badContracts = defects(contractList) { !contractsCharged.contains($0.meta.sourceID) }
        let badCharges = Set(chargeList.indices.suffix(invalidRecords).filter { _ in true })

        func entry(_ record: Record, _ defect: Defect?) -> SimEntry {
            var r = record
            if case var .charge(c) = r { c.meta.version = nil; r = .charge(c) }
            return SimEntry(record: r, updatedAt: r.meta.updatedAt!, version: 1, deleted: false, defect: defect,
                            sortKey: scheme.sortKey(r.meta.sourceID))
        }
        for (i, p) in programList.enumerated() { programs.append(entry(.program(p), badPrograms.contains(i) ? .threeDecimals : nil)) }
        for (i, c) in certificateList.enumerated() { certificates.append(entry(.certificate(c), badCertificates.contains(i) ? .badSnils : nil)) }
        for (i, c) in contractList.enumerated() { contracts.append(entry(.contract(c), badContracts.contains(i) ? .unknownCode : nil)) }
        // A bad charge would leave its certificate's balance short: give it a
        // price the certificate did not pay, so the balance still adds up.
        for (i, c) in chargeList.enumerated() {
            var charge = c
            if badCharges.contains(i) {
                charge.certificatePart = Kopecks(0)
                charge.parentPart = charge.price
            }
            charges.append(entry(.charge(charge), badCharges.contains(i) ? .wrongDateForm : nil))
        }
        // Records of a bad charge changed the certificate's balance when generated: give it back.
        for i in badCharges {
            let c = chargeList[i]
            guard let contract = contractList.first(where: { $0.meta.sourceID == c.contractSourceID }),
                  let ci = certificateList.firstIndex(where: { $0.number == contract.certificateNumber }),
                  case var .certificate(cert) = certificates.entries[ci].record else { continue }
            cert.balance = cert.balance + c.certificatePart
            certificates.entries[ci].record = .certificate(cert)
        }
        programs.buildOrder(); certificates.buildOrder(); contracts.buildOrder(); charges.buildOrder()
        w.collections = [.programs: programs, .certificates: certificates, .contracts: contracts, .charges: charges]
        w.nextIndex = [.programs: programList.count, .certificates: scale, .contracts: contractIndex, .charges: chargeIndex]
        return w
    }

    /// A record added after generation, consistent with the world.
    /// A random live, well-formed entry, drawn without copying the
    /// collection (a day's new records at a million entries each made a
    /// filtered copy of all of them).
    private mutating func pickLive(_ entries: [SimEntry]) -> SimEntry? {
        guard !entries.isEmpty else { return nil }
        for _ in 0..<64 {
            let e = entries[int(0..<entries.count)]
            if !e.deleted && e.defect == nil { return e }
        }
        return entries.first { !$0.deleted && $0.defect == nil }
    }

    mutating func extra(_ collection: CollectionName, index: Int, world w: RegionData.WorldState) -> Record? {
        switch collection {
        case .programs:
            return .program(program(index))
        case .certificates:
            return .certificate(certificate(index))
        case .contracts:
            guard case let .certificate(cert)? = pickLive(w.collections[.certificates]!.entries)?.record,
                  case let .program(p)? = pickLive(w.collections[.programs]!.entries)?.record else { return nil }
            return .contract(Contract(
                meta: SourceMeta(region: code, sourceID: scheme.contract(index), updatedAt: nil, version: "1"),
                certificateNumber: cert.number, programSourceID: p.meta.sourceID,
                startsOn: try! LocalDate(iso: "2026-11-01"), endsOn: try! LocalDate(iso: "2027-05-31"),
                priceMonth: p.priceMonth, status: .application))
        case .charges:
            // Paid by the parents alone, so that no balance changes.
            guard case let .contract(c)? = pickLive(w.collections[.contracts]!.entries)?.record else { return nil }
            return .charge(Charge(
                meta: SourceMeta(region: code, sourceID: scheme.charge(index), updatedAt: nil, version: nil),
                contractSourceID: c.meta.sourceID, month: try! YearMonth(iso: "2026-11"), price: c.priceMonth,
                certificatePart: Kopecks(0), parentPart: c.priceMonth))
        }
    }
}

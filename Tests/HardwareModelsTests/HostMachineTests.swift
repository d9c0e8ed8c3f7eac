import Testing
@testable import HardwareModels

@Suite("Host machine")
struct HostMachineTests {
    @Test func theFirstProcessorNamesTheMachine() {
        let cpuinfo = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 26
            model\t\t: 2
            model name\t: AMD EPYC
            flags\t\t: fpu vme model: 7

            processor\t: 1
            cpu family\t: 25
            model\t\t: 17
            model name\t: Another CPU

            """
        let machine = HostMachine(cpuinfo: cpuinfo, cores: 2)
        #expect(machine.cpuName == "AMD EPYC")
        #expect(machine.family == 26 && machine.model == 2)
        #expect(machine.description == "AMD EPYC (family 26, model 2), 2 cores")
    }

    @Test func aMachineThatSaysNothingIsUnknown() {
        #expect(HostMachine(cpuinfo: "", cores: 1).description == "unknown CPU, 1 core")
        let noNumbers = HostMachine(cpuinfo: "model name\t: Some CPU\nmodel\t: x\n", cores: 4)
        #expect(noNumbers.description == "Some CPU, 4 cores")
    }
}

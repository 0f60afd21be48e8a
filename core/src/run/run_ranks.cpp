// What an MPI run (mpirun -np N plexus train) does differently per rank before training: the
// device by local rank. The rest (shares of each batch, gradients) is the trainer's
// (training/trainer_parallel.cpp); rank 0 alone writes the run folder (run.cpp).
#include <vector>

#include "plexus/plugin.hpp"
#include "run_steps.hpp"

namespace plexus::core {

/// How many devices the component `name` lists (1 when it cannot list them or does not say).
std::size_t visible_devices(const Registry& registry, const std::string& name) {
    const ComponentEntry* entry = registry.find(Kind::device, name);
    if (!entry) return 1;
    const ListDevicesFn list = registry.device_lister(*entry);
    if (!list) return 1;
    std::vector<DeviceListing> devices(64);
    char error[256] = {};
    const long count = list(devices.data(), devices.size(), error, sizeof error);
    if (count <= 0) return 1;
    std::size_t mine = 0;
    for (long i = 0; i < count && i < static_cast<long>(devices.size()); ++i) {
        const DeviceListing& d = devices[static_cast<std::size_t>(i)];
        // A library with several device components lists each under its own name.
        if (!d.component[0] || name == d.component) ++mine;
    }
    return mine ? mine : 1;
}

void pick_rank_device(const Registry& registry, Setting& device, const Communicator& ranks) {
    if (ranks.size() <= 1) return;
    const std::string name = device.value.substr(0, device.value.find_first_of(" \t:"));
    device.value = device_for_local_rank(device.value, ranks.local_rank(),
                                         visible_devices(registry, name));
}

}  // namespace plexus::core

// The ring member's process, instantiated once for the ring's node (the simulator instantiates it
// for its cores too).
#include "ring/core/node_process.h"

namespace ringwatch {

template class BasicNodeProcess<Node>;

}  // namespace ringwatch

// The ring member, instantiated with the ring's snapshot participant.
#include "ring/core/node_impl.h"

namespace ringwatch {

template class BasicNode<DefaultParticipant>;

}  // namespace ringwatch

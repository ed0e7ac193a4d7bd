#pragma once
// Right and left hand. The tokenizers merge a piece's tracks into one stream, so a composed piece
// comes out as one part, while most piano files keep the hands in two tracks: notation programs
// then show one staff for both hands, and MGEval's per-part features (the average pitch interval,
// the pitch-class transition matrix) measure leaps between bass and melody that no hand plays.
// Composed pieces are therefore written with their piano parts split into two hands.
#include "midi/score.h"

namespace legato::midi {

// Splits every pitched piano part of `score` (a channel whose notes have piano programs, 0..7)
// into a right hand, left on the part's channel and track, and a left hand on the lowest free
// channel (never 10's) in a new track with the same program. Notes struck together that span more
// than an octave are split at their widest gap; narrower ones go, all together, to the hand whose
// last notes were nearer in pitch (the hands start at G4 and C3). A part is left whole when no
// channel is free. Returns the number of notes moved to a left hand.
int split_hands(Score& score);

}  // namespace legato::midi

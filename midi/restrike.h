#pragma once
// A key struck again while it still sounds. A MIDI channel cannot hold two notes of one pitch at
// once: a note-on for a sounding pitch is a new strike of the same key or drum, and readers pair
// the next note-off with one of the two (pretty_midi with the first, others with the last). The
// network composes no such rule, so a composed piece can strike a pitch again before the duration
// it gave the first strike has run out; written as it is, the overlap would need a second track of
// the same instrument (midi/writer.cpp keeps overlapping notes apart so that they read back the
// same), and a composed piece would come out with several tracks per instrument.
#include "midi/score.h"

namespace legato::midi {

// For each instrument (channel and program) and pitch, a note that still sounds when the next
// note of that pitch starts ends there, as a pianist's finger lifts to strike the key again; of
// notes struck at the same tick only the longest is kept. Times in seconds and quarters follow.
// Returns the number of notes shortened or dropped.
int end_restruck_notes(Score& score);

}  // namespace legato::midi

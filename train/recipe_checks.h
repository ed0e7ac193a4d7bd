#pragma once
// What train() refuses before it reads or writes anything: recipe values that make no sense, bad
// music-metric values, an unknown objective (and check_outputs, declared in train/trainer.h: the
// output folder, the cache folder and what --resume needs). Each throws InputError with one line.
#include "model/presets.h"
#include "train/trainer.h"

namespace legato::model {

// Recipe values that make no sense, refused before anything is read.
void check_recipe(const Recipe& r);
// TrainOptions' music metrics: eval_pieces >= 0, eval_every >= 0, eval_length >= 1.
void check_music_options(const TrainOptions& o);
// Objective "all" (a target at every step: true) or "last" (one after the window: false).
bool all_steps_of(const Recipe& r);

}  // namespace legato::model

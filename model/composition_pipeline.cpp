// compose_pieces: the composition pipeline (model/composition.h) over compose_piece.
#include <chrono>
#include <sstream>
#include <stdexcept>

#include "midi/vocabulary.h"
#include "model/composition.h"
#include "model/encoding.h"
#include "model/onset_grid.h"

namespace legato::model {

namespace {

bool user_primer(const Primer& p) { return p.source == PrimerSource::Music || p.source == PrimerSource::Tokens; }

// The user's music or tokens as they start every piece: a trailing EOS dropped (they are a
// beginning), and music cut to its last window with its context (primer_window).
PrimerWindow user_window(const CheckpointMeta& meta, const Primer& p) {
  std::vector<int32_t> tokens = primer_from_piece(p.tokens, meta.vocab, 0);
  if (p.source == PrimerSource::Tokens) return {{}, std::move(tokens)};
  return primer_window(meta, tokens, meta.seq_len);
}

// Without a user's primer: checkpoint window `index` (cycled), else BOS alone.
PrimerWindow corpus_window(const CheckpointMeta& meta, size_t index) {
  if (!meta.primers.empty()) return {{}, meta.primers[index % meta.primers.size()]};
  return {{}, {special_ids(meta.vocab).bos}};
}

// The window every piece starts from, or nullopt where each piece has its own (Corpus). A Default
// primer's window is drawn here, before any piece: the first draw of the seed's stream.
std::optional<PrimerWindow> shared_window(const CheckpointMeta& meta, const Primer& p, std::mt19937_64& rng) {
  if (user_primer(p)) return user_window(meta, p);
  if (p.source == PrimerSource::Corpus) return std::nullopt;
  if (meta.primers.empty()) return corpus_window(meta, 0);
  return corpus_window(meta, std::uniform_int_distribution<size_t>(0, meta.primers.size() - 1)(rng));
}

// The semitones from the network's key to the piece's: the request's, a Music primer's own key (for
// a network trained in C's), none for tokens (in the network's key), else a key of the corpus drawn.
int key_of(const CheckpointMeta& meta, const CompositionRequest& r, std::mt19937_64& rng) {
  if (r.key_shift) return *r.key_shift;
  if (r.primer.source == PrimerSource::Music) return meta.keys.empty() ? 0 : -r.primer.encoded_shift;
  if (r.primer.source == PrimerSource::Tokens) return 0;
  return draw_key_shift(meta.keys, rng);
}

// What the network is fed: a user's primer as given; a piece from BOS gets its ensemble.
std::vector<int32_t> start_of(const CheckpointMeta& meta, const CompositionRequest& r, const PrimerWindow& window,
                              std::mt19937_64& rng) {
  if (user_primer(r.primer)) return window.tokens;
  return piece_primer(meta, window.tokens, r.ensemble, rng);
}

// Piece k: its key and start (in the request's draw order), its tokens, and its score.
ComposedPiece compose_one(const MusicLSTM& net, const CheckpointMeta& meta, const CompositionRequest& r,
                          const PrimerWindow& window, int k, const CompositionHooks& hooks, std::mt19937_64& rng) {
  const auto started = std::chrono::steady_clock::now();
  ComposedPiece piece;
  piece.index = k;
  piece.context = window.context;
  if (r.ensemble_before_key) {
    piece.primer = start_of(meta, r, window, rng);
    piece.shift = key_of(meta, r, rng);
  } else {
    piece.shift = key_of(meta, r, rng);
    piece.primer = start_of(meta, r, window, rng);
  }
  std::optional<ControlGuide> guide;
  if (r.with_controls) {  // the network reads them first, as its training windows began
    ChosenControls controls = choose_controls(meta, r.controls, rng);
    if (controls.key_shift) piece.shift = *controls.key_shift;
    guide = guide_of(meta, r.controls, controls, piece.shift);
    piece.controls = std::move(controls.tokens);
    // With a control asked, a drawn ensemble is the ensemble of the training piece the controls came
    // from, so that a style's or a key's pieces get instruments that went with it (no draw more).
    const bool drawn_ensemble = r.ensemble.empty() && !user_primer(r.primer);
    if (!r.controls.empty() && drawn_ensemble && controls.piece &&
        meta.ensembles.size() == meta.piece_controls.size() && !meta.ensembles[*controls.piece].empty())
      piece.primer = piece_primer(meta, window.tokens, meta.ensembles[*controls.piece], rng);
  }
  std::vector<int32_t> fed = piece.controls;
  fed.insert(fed.end(), piece.primer.begin(), piece.primer.end());
  const TokenListener listener = hooks.start ? hooks.start(k, piece.shift) : TokenListener{};
  piece.generated = compose_piece(net, meta, fed, r.length, r.sampling, rng, listener, piece.context,
                                  guide ? &*guide : nullptr, r.grid_strength);
  piece.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // What sounds: a user's primer leads into the new music (a drawn training window is not theirs),
  // after the context, which names the instruments of the primer's notes and sounds nothing itself.
  std::vector<int32_t> heard = piece.context;
  if (user_primer(r.primer) && r.primer.in_output) heard.insert(heard.end(), piece.primer.begin(), piece.primer.end());
  heard.insert(heard.end(), piece.generated.begin(), piece.generated.end());
  piece.score = score_of(meta.scheme, meta.vocab, heard, r.tempo, piece.shift, r.two_hands);
  return piece;
}

}  // namespace

double grid_strength_for(const ControlRequest& controls) {
  return controls.density.empty() && controls.key.empty() ? kDefaultGridStrength : 0.0;
}

std::vector<int32_t> ComposedPiece::all() const {
  std::vector<int32_t> out = context;
  out.insert(out.end(), primer.begin(), primer.end());
  out.insert(out.end(), generated.begin(), generated.end());
  return out;
}

std::string composition_problem(const CheckpointMeta& meta, const CompositionRequest& request) {
  if (request.count < 1) return "no pieces asked for (count " + std::to_string(request.count) + ")";
  if (user_primer(request.primer)) {
    if (primer_from_piece(request.primer.tokens, meta.vocab, 0).empty())
      return request.primer.source == PrimerSource::Tokens ? "no token before the end (EOS): give a beginning"
                                                           : "no notes (a primer needs music to go on from)";
    return "";
  }
  if (meta.primers.empty() && special_ids(meta.vocab).bos < 0)
    return "the checkpoint has no primer windows and no BOS token";
  return "";
}

void compose_pieces(const MusicLSTM& net, const CheckpointMeta& meta, const CompositionRequest& request,
                    const CompositionHooks& hooks) {
  if (const std::string problem = composition_problem(meta, request); !problem.empty())
    throw std::invalid_argument(problem);
  std::mt19937_64 rng(request.seed);
  const std::optional<PrimerWindow> shared = shared_window(meta, request.primer, rng);
  for (int k = 0; k < request.count; ++k) {
    const PrimerWindow window = shared ? *shared : corpus_window(meta, request.primer.corpus_piece + size_t(k));
    ComposedPiece piece = compose_one(net, meta, request, window, k, hooks, rng);
    if (hooks.done && !hooks.done(piece)) return;
  }
}

Primer music_primer_of_file(const std::filesystem::path& path, const CheckpointMeta& meta, std::ostream& log) {
  Primer primer;
  primer.source = PrimerSource::Music;
  std::vector<int> shifts;
  const auto pieces = encode_files({path}, meta.scheme, meta.vocab, log, !meta.keys.empty(), &shifts);
  if (!pieces.empty()) primer.tokens = pieces[0], primer.encoded_shift = shifts[0];
  return primer;
}

Primer tokens_primer_of_line(const std::string& line, const CheckpointMeta& meta) {
  const midi::Vocabulary vocab = midi::Vocabulary::in_id_order(meta.vocab);
  Primer primer;
  primer.source = PrimerSource::Tokens;
  std::istringstream in(line.substr(line.find('\t') + 1));
  for (std::string t; in >> t;) {
    if (!vocab.contains(t))
      throw std::invalid_argument("'" + t + "' is not a token of the checkpoint (it uses the " + meta.scheme +
                                  " scheme: `miditool tokens --scheme " + meta.scheme +
                                  " FILE.mid` writes a file's tokens in it)");
    primer.tokens.push_back(static_cast<int32_t>(vocab.id(t)));
  }
  return primer;
}

std::string tokens_line(const std::vector<std::vector<int32_t>>& parts, const std::vector<std::string>& vocab) {
  std::string line;
  for (const auto& part : parts)
    for (int32_t t : part) {  // one push_back and one append: `sep + ...` makes GCC 12 warn falsely (-Wrestrict)
      if (!line.empty()) line.push_back(' ');
      line.append(vocab[static_cast<size_t>(t)]);
    }
  return line;
}

std::vector<ComposedPiece> compose_pieces(const MusicLSTM& net, const CheckpointMeta& meta,
                                          const CompositionRequest& request) {
  std::vector<ComposedPiece> pieces;
  compose_pieces(net, meta, request, {{}, [&](ComposedPiece& piece) {
                                        pieces.push_back(std::move(piece));
                                        return true;
                                      }});
  return pieces;
}

}  // namespace legato::model

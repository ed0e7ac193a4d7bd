// Special tokens through the vocabulary (model::special_ids over midi::Vocabulary::id()): a
// vocabulary with UNK but no BOS has no BOS (id() alone would answer UNK's id), and what is banned
// and where a primer's end is follow from them.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "midi/vocabulary.h"
#include "model/composition.h"

using namespace legato;

TEST_CASE("specials: BOS, EOS and UNK are found through the vocabulary, -1 where it has none") {
  const std::vector<std::string> event = {"UNK", "BOS", "EOS", "IDRUMS", "N60", "T4"};
  const model::SpecialIds ids = model::special_ids(event);
  CHECK(ids.unk == 0);
  CHECK(ids.bos == 1);
  CHECK(ids.eos == 2);
  CHECK(model::banned_tokens(event) == std::vector<int32_t>{0, 1});

  const std::vector<std::string> no_bos = {"N60", "UNK", "N62", "EOS"};  // UNK is not BOS's stand-in
  CHECK(model::special_ids(no_bos).bos == -1);
  CHECK(model::special_ids(no_bos).eos == 3);
  CHECK(model::banned_tokens(no_bos) == std::vector<int32_t>{1});
  CHECK(model::primer_from_piece({0, 2, 3, 3}, no_bos, 0) == std::vector<int32_t>{0, 2});  // every EOS off the end

  const std::vector<std::string> seed = {"C4", "D4", "E4"};  // the seed scheme has no specials
  CHECK(model::special_ids(seed).unk == -1);
  CHECK(model::banned_tokens(seed).empty());
  CHECK(model::primer_from_piece({0, 1, 2}, seed, 2) == std::vector<int32_t>{1, 2});

  const midi::Vocabulary v = midi::Vocabulary::in_id_order({"UNK", "N60", "N60"});
  CHECK(v.size() == 3);
  CHECK(v.id("N60") == 1);  // a repeated token keeps its first id
  CHECK(v.id("N61") == 0);  // UNK stands in for a token without an id
}

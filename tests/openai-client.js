// openai-client.js - drives an OpenAI-compatible server with the official
// `openai` npm package, for openai-npm.sh:
//
//	node openai-client.js BASE_URL stream|whole PROMPT
//
// Writes the reasoning (reasoning_content, which the package passes
// through) on stderr and the answer on stdout; exits 1 on an error.
const { OpenAI } = require('openai');

async function main() {
	const [base, mode, prompt] = process.argv.slice(2);
	const client = new OpenAI({ baseURL: base, apiKey: 'unused',
	    maxRetries: 0 });
	const req = { model: 'any', temperature: 0,
	    messages: [{ role: 'user', content: prompt }] };
	if (mode === 'whole') {
		const r = await client.chat.completions.create(req);
		const m = r.choices[0].message;
		process.stderr.write((m.reasoning_content || '') + '\n');
		process.stdout.write(m.content + '\n');
		process.stderr.write('usage ' + r.usage.completion_tokens + '\n');
		return;
	}
	const stream = await client.chat.completions.create({ ...req,
	    stream: true, stream_options: { include_usage: true } });
	let usage = null;
	for await (const chunk of stream) {
		if (chunk.usage)
			usage = chunk.usage;
		const d = chunk.choices.length > 0 ? chunk.choices[0].delta : {};
		if (d.reasoning_content)
			process.stderr.write(d.reasoning_content);
		if (d.content)
			process.stdout.write(d.content);
	}
	process.stderr.write('\nusage ' + (usage ? usage.completion_tokens :
	    'none') + '\n');
	process.stdout.write('\n');
}

main().catch((e) => {
	process.stderr.write('openai-client: ' + e.message + '\n');
	process.exit(1);
});

import openai

openai.base_url = "http://127.0.0.1:8000/v1/"


def ask(question):
    response = openai.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": question}],
    )
    return response.choices[0].message.content
